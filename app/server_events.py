"""Every event the server sends to clients: its name, its payload model, and the one way out.

A payload model names its event (``event``); ``ServerEvents.send`` validates nothing twice and
dumps every payload the same way (JSON mode, no ``None`` fields, aliases such as ``from``). The
web app's TypeScript types for these events are generated from the models below
(``npm --prefix frontend run api:types``; ``tests/e2e/test_api_types.py`` fails when they are
stale), so a new event is a model here, its ``SERVER_EVENTS`` entry, a ``send`` where it
happens, and a line in docs/api.md.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from app.models import Message, Peer
from app.realtime.schemas import IceCandidate, SessionDescription


class ServerEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    event: ClassVar[str]


# -- the call ---------------------------------------------------------------------------------


class PeerJoined(ServerEvent, Peer):
    event = "peer-joined"


class PeerLeft(ServerEvent, Peer):
    event = "peer-left"


class _Signal(ServerEvent):
    # The sender's socket id, always set by the server: a client cannot speak as another.
    from_: str = Field(alias="from")


class Offer(_Signal):
    event = "offer"
    sdp: SessionDescription


class Answer(_Signal):
    event = "answer"
    sdp: SessionDescription


class CandidateRelay(_Signal):
    event = "candidate"
    candidate: IceCandidate


class RoomMessage(ServerEvent, Message):
    """A stored message, broadcast to the room's other members."""

    event = "message"


# -- the tutor (docs/tutor.md) ----------------------------------------------------------------
# Audio never travels here: ``ai-audio`` carries a URL to the stored clip, not its bytes.


class AiDelta(ServerEvent):
    event = "ai-delta"
    reply_id: str
    # The learner message being answered: a reply taken over by another replica after a crash
    # starts again under a new reply_id, and this says which partial text it replaces.
    reply_to: str
    text: str = Field(min_length=1)


class AiAudio(ServerEvent):
    event = "ai-audio"
    reply_id: str
    seq: int = Field(ge=0)
    url: str = Field(min_length=1)
    text: str


class AiDone(ServerEvent):
    event = "ai-done"
    reply_id: str
    message: Message


class AiError(ServerEvent):
    event = "ai-error"
    code: str
    message: str
    reply_id: str | None = None


# -- the tutor in the call (docs/tutor.md#voice-the-tutor-in-the-call) -------------------------


class UserSpeaker(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["user"] = "user"
    user_id: str


class AiSpeaker(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["ai"] = "ai"


class Transcript(ServerEvent):
    """Captions: the learner's words as they are recognized (partial, then final), and the
    tutor's sentences as each starts playing on a person's voice track."""

    event = "transcript"
    room_id: str
    utterance_id: str
    speaker: UserSpeaker | AiSpeaker = Field(discriminator="kind")
    text: str
    final: bool


class TutorState(ServerEvent):
    event = "tutor-state"
    room_id: str
    state: Literal["listening", "thinking", "speaking"]


# -- notices ----------------------------------------------------------------------------------

NoticeCode = Literal[
    # the replica is stopping, or was taken for dead after a stall: a transport close follows
    "server_restarting",
    "connection_reset",
    "room_ended",
    # the tutor's (docs/tutor.md)
    "voice_budget",
    "voice_unavailable",
    "storage_unavailable",
    "llm_budget",
    # the voice call's: the tutor peer closed for want of audio; an utterance not transcribed
    "voice_idle",
    "speech_unavailable",
]


class Notice(ServerEvent):
    event = "notice"
    code: NoticeCode
    message: str
    # room_ended: the session record the room left
    session_id: str | None = None


SERVER_EVENTS: tuple[type[ServerEvent], ...] = (
    PeerJoined,
    PeerLeft,
    Offer,
    Answer,
    CandidateRelay,
    RoomMessage,
    AiDelta,
    AiAudio,
    AiDone,
    AiError,
    Transcript,
    TutorState,
    Notice,
)


class Emitter(Protocol):
    """The slice of ``socketio.AsyncServer`` used to send (a stand-in in tests and the bench)."""

    async def emit(
        self,
        event: str,
        data: Any = None,
        *,
        to: str | None = None,
        room: str | None = None,
        skip_sid: str | None = None,
        ignore_queue: bool = False,
    ) -> None: ...


class ServerEvents:
    def __init__(self, emitter: Emitter) -> None:
        self._emitter = emitter

    async def send(
        self,
        payload: ServerEvent,
        *,
        room: str | None = None,
        to: str | None = None,
        skip_sid: str | None = None,
        local_only: bool = False,
        via_room: str | None = None,
    ) -> None:
        """To a room, to one socket (``to``), or, with neither, to every client of the cluster
        (``local_only``: this replica's clients only). ``via_room``: the room the socket ``to``
        is in, so that a room-affine manager (app/realtime/manager.py) sends it through the
        room's channel instead of the one every replica reads."""
        await self.send_dumped(
            type(payload),
            self.data(payload),
            room=room,
            to=to,
            skip_sid=skip_sid,
            local_only=local_only,
            via_room=via_room,
        )

    async def send_dumped(
        self,
        event: type[ServerEvent],
        data: dict[str, Any],
        *,
        room: str | None = None,
        to: str | None = None,
        skip_sid: str | None = None,
        local_only: bool = False,
        via_room: str | None = None,
    ) -> None:
        """``send`` of a payload the caller holds dumped already, exactly as ``data`` dumps it
        (a chat message: the stored ``Message`` is dumped once for its ack and its event)."""
        manager = getattr(self._emitter, "manager", None)
        emit_to_member = getattr(manager, "emit_to_member", None)
        if to is not None and via_room is not None and emit_to_member is not None:
            await emit_to_member(event.event, data, sid=to, room=via_room)
            return
        await self._emitter.emit(
            event.event, data, to=to, room=room, skip_sid=skip_sid, ignore_queue=local_only
        )

    @staticmethod
    def data(payload: ServerEvent) -> dict[str, Any]:
        """The event's payload as it goes on the wire."""
        return payload.model_dump(mode="json", exclude_none=True, by_alias=True)
