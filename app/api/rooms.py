"""Rooms: open one with a companion, read it, read its conversation, end it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.api.errors import ApiError
from app.api.http import (
    EndpointDoc,
    body,
    documented,
    identity,
    query,
    respond,
    services,
    valid_id,
)
from app.models import Identity, Message, Peer, Room, SessionRecord
from app.server_events import Notice, ServerEvents
from app.services import Services
from app.store import keys
from app.store.sessions import EndResult


class CreateRoom(BaseModel):
    model_config = ConfigDict(extra="forbid")

    companion_id: str = Field(min_length=1, max_length=64)


class CreatedRoom(BaseModel):
    room_id: str
    companion_id: str
    status: str
    created_at: float
    expires_at: float
    invite_token: str
    invite_url: str


class RoomView(BaseModel):
    room: Room
    peers: list[Peer]
    is_owner: bool


class MessagesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after: int = Field(default=0, ge=0, le=2**31 - 1)
    limit: int = Field(default=200, ge=1, le=500)


class MessageList(BaseModel):
    messages: list[Message]


class PreviewQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invite_token: str | None = Field(default=None, max_length=128)


def invite_url(s: Services, request: Request, room_id: str, invite_token: str) -> str:
    base = s.settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    return f"{base}/rooms/{room_id}?invite={invite_token}"


async def readable_room(
    request: Request, who: Identity, *, invite_token: str | None = None
) -> Room:
    """The room if the caller may read it; 404 otherwise, so that a stranger cannot even learn
    that a room id exists."""
    s = services(request)
    room_id = request.path_params["room_id"]
    room = await s.rooms.get(room_id) if valid_id(room_id) else None
    allowed = room is not None and (
        await s.rooms.has_access(room_id, who.user_id)
        or (invite_token is not None and await s.rooms.invite_matches(room_id, invite_token))
    )
    if room is None or not allowed:
        raise ApiError(404, "room_not_found", "No such room, or you are not a member of it.")
    return room


@documented(
    EndpointDoc(
        "Open a room with a companion (expires after 2 h without activity)",
        body=CreateRoom,
        response=CreatedRoom,
        status=201,
        errors=(404,),
        tags=("rooms",),
        links=tuple(
            (name, operation_id, {"room_id": "$response.body#/room_id"})
            for name, operation_id in (
                ("GetRoom", "get_get_room"),
                ("ListMessages", "get_list_messages"),
                ("EndRoom", "delete_end_room"),
            )
        ),
    )
)
async def create_room(request: Request) -> Response:
    who = await identity(request)
    req = await body(request, CreateRoom)
    s = services(request)
    companion = s.catalogue.get(req.companion_id)
    if companion is None:
        raise ApiError(404, "companion_not_found", "No companion with that id.")
    new = await s.rooms.create(who.user_id, req.companion_id)
    room = new.room
    await s.memory.open_room(room, who, companion)
    return respond(
        CreatedRoom(
            room_id=room.room_id,
            companion_id=room.companion_id,
            status=room.status,
            created_at=room.created_at,
            expires_at=room.created_at + keys.ROOM_TTL,
            invite_token=new.invite_token,
            invite_url=invite_url(s, request, room.room_id, new.invite_token),
        ),
        status=201,
    )


@documented(
    EndpointDoc(
        "A room and who is in it (members, or holders of its invite token)",
        query=PreviewQuery,
        response=RoomView,
        errors=(404,),
        tags=("rooms",),
    )
)
async def get_room(request: Request) -> Response:
    who = await identity(request)
    preview = query(request, PreviewQuery)
    room = await readable_room(request, who, invite_token=preview.invite_token)
    peers = await services(request).rooms.peers(room.room_id)
    return respond(RoomView(room=room, peers=peers, is_owner=room.owner_id == who.user_id))


@documented(
    EndpointDoc(
        "End a room (its creator only): writes and returns the session record; ending an "
        "ended room returns the same record",
        response=SessionRecord,
        errors=(403, 404),
        tags=("rooms",),
        links=tuple(
            (name, operation_id, {"session_id": "$response.body#/session_id"})
            for name, operation_id in (
                ("GetSession", "get_get_session"),
                ("GetTranscript", "get_get_transcript"),
            )
        ),
    )
)
async def end_room(request: Request) -> Response:
    who = await identity(request)
    room = await readable_room(request, who)
    if room.owner_id != who.user_id:
        raise ApiError(403, "forbidden", "Only the learner who opened the room can end it.")
    result = await end_and_announce(services(request), room)
    if result.session is None:
        raise ApiError(404, "room_not_found", "No such room, or you are not a member of it.")
    return respond(result.session)


async def end_and_announce(s: Services, room: Room) -> EndResult:
    """End a room: the session record, the notice to everyone in it (on every replica), and
    the summary job (taken by any replica: ending never waits for a model)."""
    result = await s.sessions.end_room(room, await s.rooms.participants(room.room_id))
    if result.outcome == "ok" and result.session is not None:
        record = result.session
        s.metrics.sessions.labels("ended").inc()
        s.metrics.session_duration.observe(record.duration_seconds)
        s.metrics.session_messages.observe(record.message_count)
        await s.rooms.ended(room.room_id)
        await ServerEvents(s.sio).send(
            Notice(
                code="room_ended",
                message="The room has ended.",
                session_id=record.session_id,
            ),
            room=room.room_id,
        )
        await s.summary_jobs.enqueue(record.session_id)
    return result


@documented(
    EndpointDoc(
        "The room's conversation after a sequence number",
        query=MessagesQuery,
        response=MessageList,
        errors=(404,),
        tags=("rooms",),
    )
)
async def list_messages(request: Request) -> Response:
    who = await identity(request)
    page = query(request, MessagesQuery)
    room = await readable_room(request, who)
    s = services(request)
    messages = await s.messages.list(room.room_id, after=page.after, limit=page.limit)
    return respond(MessageList(messages=await s.with_audio_links(messages)))


routes = [
    Route("/api/rooms", create_room, methods=["POST"]),
    Route("/api/rooms/{room_id}", get_room, methods=["GET"]),
    Route("/api/rooms/{room_id}", end_room, methods=["DELETE"]),
    Route("/api/rooms/{room_id}/messages", list_messages, methods=["GET"]),
]
