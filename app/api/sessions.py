"""The caller's history: ended rooms, kept 30 days, and their transcripts."""

from __future__ import annotations

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.api.errors import ApiError
from app.api.http import EndpointDoc, documented, identity, respond, services, valid_id
from app.models import Identity, Message, SessionRecord


class SessionList(BaseModel):
    sessions: list[SessionRecord]


class Transcript(BaseModel):
    session_id: str
    messages: list[Message]


async def _own_session(request: Request, who: Identity) -> SessionRecord:
    session_id = request.path_params["session_id"]
    record = await services(request).sessions.get(session_id) if valid_id(session_id) else None
    if record is None or who.user_id not in record.participants:
        raise ApiError(404, "session_not_found", "No such session in your history.")
    return record.model_copy(update={"summary": await services(request).summaries.get(session_id)})


@documented(
    EndpointDoc("Your past sessions, newest first", response=SessionList, tags=("sessions",))
)
async def list_sessions(request: Request) -> Response:
    who = await identity(request)
    s = services(request)
    records = await s.sessions.list_for_user(who.user_id)
    return respond(SessionList(sessions=await s.summaries.attach(records)))


@documented(
    EndpointDoc("One of your sessions", response=SessionRecord, errors=(404,), tags=("sessions",))
)
async def get_session(request: Request) -> Response:
    return respond(await _own_session(request, await identity(request)))


@documented(
    EndpointDoc(
        "The transcript of one of your sessions",
        response=Transcript,
        errors=(404,),
        tags=("sessions",),
    )
)
async def get_transcript(request: Request) -> Response:
    record = await _own_session(request, await identity(request))
    s = services(request)
    messages = await s.with_audio_links(await s.sessions.transcript(record.session_id))
    return respond(Transcript(session_id=record.session_id, messages=messages))


routes = [
    Route("/api/sessions", list_sessions, methods=["GET"]),
    Route("/api/sessions/{session_id}", get_session, methods=["GET"]),
    Route("/api/sessions/{session_id}/transcript", get_transcript, methods=["GET"]),
]
