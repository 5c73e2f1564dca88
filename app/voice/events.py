"""The events the voice sessions send (docs/api.md), validated before they leave."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import socketio
from pydantic import BaseModel, ConfigDict, Field

from app.tutor.events import AiDone, Notice


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class UserSpeaker(_Event):
    kind: Literal["user"] = "user"
    user_id: str


class AiSpeaker(_Event):
    kind: Literal["ai"] = "ai"


class Transcript(_Event):
    room_id: str
    utterance_id: str
    speaker: Annotated[UserSpeaker | AiSpeaker, Field(discriminator="kind")]
    text: str
    final: bool


class TutorState(_Event):
    room_id: str
    state: Literal["listening", "thinking", "speaking"]


VoiceEvent = Transcript | TutorState | Notice | AiDone
_NAMES: dict[type[BaseModel], str] = {
    Transcript: "transcript",
    TutorState: "tutor-state",
    Notice: "notice",
    AiDone: "ai-done",
}


async def send(
    sio: socketio.AsyncServer, event: VoiceEvent, *, room: str | None = None, to: str | None = None
) -> None:
    """To one socket (``to``) or to a room."""
    target: dict[str, Any] = {"to": to} if to is not None else {"room": room}
    await sio.emit(_NAMES[type(event)], event.model_dump(mode="json"), **target)
