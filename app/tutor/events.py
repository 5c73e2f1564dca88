"""The events the tutor sends to a room (docs/api.md, docs/tutor.md), validated before they leave.

Audio never travels here: ``ai-audio`` carries a URL to the stored clip, not its bytes.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AiDelta(_Event):
    reply_id: str
    # The learner message being answered: a reply taken over by another replica after a crash
    # starts again under a new reply_id, and this says which partial text it replaces.
    reply_to: str
    text: str = Field(min_length=1)


class AiAudio(_Event):
    reply_id: str
    seq: int = Field(ge=0)
    url: str = Field(min_length=1)
    text: str


class AiDone(_Event):
    reply_id: str
    message: dict[str, Any]


class AiError(_Event):
    code: str
    message: str
    reply_id: str | None = None


class Notice(_Event):
    code: str
    message: str


class Emitter(Protocol):
    """The slice of ``socketio.AsyncServer`` the tutor uses (a stand-in in the benchmark)."""

    async def emit(self, event: str, data: Any = None, *, room: str | None = None) -> None: ...


class RoomEvents:
    def __init__(self, emitter: Emitter, room_id: str) -> None:
        self._emitter = emitter
        self.room_id = room_id

    async def send(self, event: str, payload: _Event) -> None:
        await self._emitter.emit(event, payload.model_dump(mode="json"), room=self.room_id)

    async def delta(self, payload: AiDelta) -> None:
        await self.send("ai-delta", payload)

    async def audio(self, payload: AiAudio) -> None:
        await self.send("ai-audio", payload)

    async def done(self, payload: AiDone) -> None:
        await self.send("ai-done", payload)

    async def error(self, payload: AiError) -> None:
        await self.send("ai-error", payload)

    async def notice(self, payload: Notice) -> None:
        await self.send("notice", payload)
