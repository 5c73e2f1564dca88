"""The caller as a learner: their profile, their progress, and their data (export, erasure)."""

from __future__ import annotations

import functools
import logging
import re
import time
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.api.auth import DISPLAY_NAME_PATTERN, NOT_TEXT, printable_name
from app.api.errors import ApiError
from app.api.http import EndpointDoc, body, documented, identity, respond, services
from app.api.rooms import end_and_announce
from app.catalogue import Catalogue, Level
from app.models import Message, Profile, SessionRecord
from app.providers.errors import StorageError
from app.services import Services
from app.store.summaries import RawProgress

log = logging.getLogger(__name__)

MAX_GOALS_CHARS = 500
MAX_TOPICS_SHOWN = 10
OTHER_LEARNER = "another-learner"


@functools.cache
def _catalogue_choices() -> tuple[list[str], list[str]]:
    """The languages and subjects of the packaged catalogue, for the profile's schema."""
    companions = Catalogue.load().companions()
    return (
        sorted({lang for c in companions for lang in c.languages}),
        sorted({c.subject for c in companions}),
    )


def _languages_enum(schema: dict[str, Any]) -> None:
    schema["enum"] = _catalogue_choices()[0]


def _subjects_enum(schema: dict[str, Any]) -> None:
    schema["propertyNames"] = {"enum": _catalogue_choices()[1]}


LanguageCode = Annotated[str, Field(max_length=16, json_schema_extra=_languages_enum)]
# Free text, lines allowed: the display name's rule without its ban on newlines and tabs.
_GOALS_NOT_TEXT = NOT_TEXT.replace(r"\u0000-\u001f", r"\u0000-\u0008\u000b-\u001f")
GOALS_PATTERN = rf"^[^{_GOALS_NOT_TEXT}]*$"
_GOALS = re.compile(GOALS_PATTERN)


class ProfileUpdate(BaseModel):
    """The whole profile (a PUT replaces it). Strict: ``"memory": 0`` is not a boolean."""

    model_config = ConfigDict(extra="forbid", strict=True)

    display_name: str = Field(
        min_length=1, max_length=64, json_schema_extra={"pattern": DISPLAY_NAME_PATTERN}
    )
    preferred_language: LanguageCode | None = Field(
        default=None, description="One of the catalogue's languages."
    )
    goals: str = Field(
        default="", max_length=MAX_GOALS_CHARS, json_schema_extra={"pattern": GOALS_PATTERN}
    )
    levels: dict[str, Level] = Field(
        default_factory=dict,
        max_length=20,
        description="Subject (from the catalogue) -> level.",
        json_schema_extra=_subjects_enum,
    )
    memory: bool = True

    _name = field_validator("display_name")(printable_name)

    @field_validator("goals")
    @classmethod
    def _plain_text(cls, value: str) -> str:
        if not _GOALS.fullmatch(value) or any("\ud800" <= c <= "\udfff" for c in value):
            raise ValueError("must be text (no control or invisible formatting characters)")
        return value.strip()


class TopicCount(BaseModel):
    topic: str
    sessions: int


class CompanionProgress(BaseModel):
    companion_id: str
    companion_name: str
    subject: str
    sessions: int
    minutes: float
    messages: int = Field(description="Messages the learner sent.")
    last_session_at: float | None = None
    topics: list[TopicCount] = Field(description="Topics practised, most frequent first.")


class SubjectProgress(BaseModel):
    subject: str
    sessions: int
    minutes: float
    messages: int
    last_session_at: float | None = None


class Progress(BaseModel):
    companions: list[CompanionProgress]
    subjects: list[SubjectProgress]
    weekly_streak: int = Field(
        description="Consecutive weeks with a session, up to this week (or last week, "
        "while this one is still open)."
    )
    active_weeks: list[str] = Field(description="ISO weeks with a session, e.g. 2026-W49.")


class ExportedSession(BaseModel):
    record: SessionRecord
    transcript: list[Message]


class Export(BaseModel):
    exported_at: float
    user_id: str
    profile: Profile
    progress: Progress
    sessions: list[ExportedSession]
    audio: list[str] = Field(description="Links to the audio of these sessions.")


def _check_against_catalogue(s: Services, update: ProfileUpdate) -> None:
    companions = s.catalogue.companions()
    languages = {lang for c in companions for lang in c.languages}
    subjects = {c.subject for c in companions}
    if update.preferred_language is not None and update.preferred_language not in languages:
        raise ApiError(
            422,
            "invalid_request",
            f"preferred_language: must be one of {', '.join(sorted(languages))}.",
        )
    unknown = sorted(set(update.levels) - subjects)
    if unknown:
        raise ApiError(
            422,
            "invalid_request",
            f"levels: unknown subject {unknown[0]!r}; subjects are {', '.join(sorted(subjects))}.",
        )


def _only_yours(record: SessionRecord, transcript: list[Message], user_id: str) -> ExportedSession:
    """A session as exported: another participant's words stay (it is the learner's
    conversation), their user id does not (it is not the learner's data)."""
    others = {p for p in record.participants if p != user_id}
    return ExportedSession(
        record=record.model_copy(
            update={
                "participants": [OTHER_LEARNER if p in others else p for p in record.participants],
                "owner_id": OTHER_LEARNER if record.owner_id in others else record.owner_id,
            }
        ),
        transcript=[
            m.model_copy(update={"sender": m.sender.model_copy(update={"user_id": None})})
            if m.sender.user_id in others
            else m
            for m in transcript
        ],
    )


def weekly_streak(weeks: set[str], today: date) -> int:
    def name(day: date) -> str:
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"

    day = today if name(today) in weeks else today - timedelta(days=7)
    streak = 0
    while name(day) in weeks:
        streak += 1
        day -= timedelta(days=7)
    return streak


def progress_of(s: Services, raw: RawProgress, now: float) -> Progress:
    companions = []
    for entry in sorted(raw.companions.values(), key=lambda e: -(e.last_session_at or 0)):
        companion = s.catalogue.get(entry.companion_id)
        topics = sorted(entry.topics.items(), key=lambda t: (-t[1], t[0]))[:MAX_TOPICS_SHOWN]
        companions.append(
            CompanionProgress(
                companion_id=entry.companion_id,
                companion_name=companion.name if companion else entry.companion_id,
                subject=companion.subject if companion else "other",
                sessions=entry.sessions,
                minutes=round(entry.seconds / 60, 1),
                messages=entry.messages,
                last_session_at=entry.last_session_at,
                topics=[TopicCount(topic=t, sessions=n) for t, n in topics],
            )
        )
    subjects: dict[str, SubjectProgress] = {}
    for c in companions:
        total = subjects.setdefault(
            c.subject, SubjectProgress(subject=c.subject, sessions=0, minutes=0, messages=0)
        )
        total.sessions += c.sessions
        total.minutes = round(total.minutes + c.minutes, 1)
        total.messages += c.messages
        total.last_session_at = max(total.last_session_at or 0, c.last_session_at or 0) or None
    today = datetime.fromtimestamp(now, UTC).date()
    return Progress(
        companions=companions,
        subjects=sorted(subjects.values(), key=lambda p: p.subject),
        weekly_streak=weekly_streak(raw.weeks, today),
        active_weeks=sorted(raw.weeks),
    )


@documented(EndpointDoc("Your learner profile", response=Profile, tags=("me",)))
async def get_me(request: Request) -> Response:
    who = await identity(request)
    return respond(await services(request).profiles.get(who))


@documented(
    EndpointDoc(
        "Replace your learner profile (languages and subjects come from the catalogue)",
        body=ProfileUpdate,
        response=Profile,
        tags=("me",),
    )
)
async def put_me(request: Request) -> Response:
    who = await identity(request)
    update = await body(request, ProfileUpdate)
    s = services(request)
    _check_against_catalogue(s, update)
    profile = Profile(
        user_id=who.user_id,
        **update.model_dump(),
        updated_at=time.time(),
    )
    await s.profiles.put(profile)
    return respond(profile)


@documented(
    EndpointDoc(
        "Your progress per companion and subject, and your weekly streak",
        response=Progress,
        tags=("me",),
    )
)
async def get_progress(request: Request) -> Response:
    who = await identity(request)
    s = services(request)
    return respond(progress_of(s, await s.summaries.progress(who.user_id), time.time()))


@documented(
    EndpointDoc(
        "Everything stored about you, as JSON (audio as links)", response=Export, tags=("me",)
    )
)
async def export_me(request: Request) -> Response:
    who = await identity(request)
    s = services(request)
    now = time.time()
    sessions = []
    audio: list[str] = []
    for session_id in await s.learners.session_ids(who.user_id):
        record = await s.sessions.get(session_id)
        if record is None:
            continue
        transcript = await s.with_audio_links(await s.sessions.transcript(session_id))
        audio += [url for m in transcript for url in m.audio_urls or []]
        [record] = await s.summaries.attach([record])
        sessions.append(_only_yours(record, transcript, who.user_id))
    return respond(
        Export(
            exported_at=now,
            user_id=who.user_id,
            profile=await s.profiles.get(who),
            progress=progress_of(s, await s.summaries.progress(who.user_id), now),
            sessions=sessions,
            audio=audio,
        )
    )


@documented(
    EndpointDoc(
        "Erase everything stored about you: rooms in progress are ended first; profile, "
        "sessions, transcripts, summaries, progress and audio go (503 while storage is "
        "unreachable: repeat it)",
        status=204,
        errors=(503,),
        tags=("me",),
    )
)
async def erase_me(request: Request) -> Response:
    who = await identity(request)
    s = services(request)
    user_id = who.user_id
    # Rooms in progress first, so that nothing new is said or summarized after the sweep.
    for room_id in await s.learners.active_rooms():
        room = await s.rooms.get(room_id)
        if room is None or room.status != "active":
            continue
        if room.owner_id == user_id or await s.rooms.has_access(room_id, user_id):
            await end_and_announce(s, room)
            if s.tutor is not None:
                await s.tutor.stop(room_id)
    # Their connections close (on whichever replica holds them): what a connection carries
    # (membership, presence, its slot) names the learner.
    for sid in await s.learners.connected_sids(user_id):
        await s.sio.disconnect(sid)
    records = [
        record
        for session_id in await s.learners.session_ids(user_id)
        if (record := await s.sessions.get(session_id)) is not None
    ]
    owned = [r for r in records if r.owner_id == user_id]
    # Audio before the records that say where it is: a failure here leaves a retry possible.
    if s.tutor is not None:
        try:
            for record in owned:
                await s.tutor.deps.storage.delete_prefix(f"{record.room_id}/")
        except StorageError as exc:
            log.warning("erasure stopped: the audio could not be deleted: %s", exc)
            raise ApiError(
                503,
                "storage_unavailable",
                "Your audio could not be deleted right now, so nothing was erased yet (rooms "
                "in progress were ended). Please try again shortly.",
            ) from exc
    for record in records:
        if record.owner_id == user_id:
            await s.learners.erase_session(record)
        else:
            await s.learners.leave_session(record, user_id)
    await s.learners.erase_user_keys(user_id)
    await s.learners.forget_connections(user_id)
    s.metrics.erasures.inc()
    log.info(
        "a learner erased their data (%d sessions, %d opened by them)", len(records), len(owned)
    )
    return Response(status_code=204)


routes = [
    Route("/api/me", get_me, methods=["GET"]),
    Route("/api/me", put_me, methods=["PUT"]),
    Route("/api/me", erase_me, methods=["DELETE"]),
    Route("/api/me/progress", get_progress, methods=["GET"]),
    Route("/api/me/export", export_me, methods=["GET"]),
]
