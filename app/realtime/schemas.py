"""Socket.IO payloads: every client event is validated here, with size limits, unknown fields
rejected. Nothing a client sends names a sender, a user id or a role: those come from its token."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

MAX_SDP_BYTES = 64 * 1024
MAX_CANDIDATE_BYTES = 2 * 1024
MAX_TEXT_BYTES = 4 * 1024


def _max_bytes(limit: int) -> AfterValidator:
    def check(value: str) -> str:
        if len(value.encode("utf-8")) > limit:
            raise ValueError(f"must be at most {limit} bytes")
        return value

    return AfterValidator(check)


RoomId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]
Sid = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Join(Payload):
    room_id: RoomId
    invite_token: str | None = Field(default=None, max_length=128)


class Leave(Payload):
    room_id: RoomId


class SessionDescription(Payload):
    type: Literal["offer", "answer"]
    sdp: Annotated[str, _max_bytes(MAX_SDP_BYTES)]


class Describe(Payload):
    """offer / answer"""

    room_id: RoomId
    to: Sid
    sdp: SessionDescription


class IceCandidate(Payload):
    candidate: Annotated[str, _max_bytes(MAX_CANDIDATE_BYTES)]
    sdpMid: str | None = Field(default=None, max_length=64)
    sdpMLineIndex: int | None = Field(default=None, ge=0, le=64)
    usernameFragment: str | None = Field(default=None, max_length=256)


class Candidate(Payload):
    room_id: RoomId
    to: Sid
    candidate: IceCandidate


class ChatMessage(Payload):
    room_id: RoomId
    text: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1), _max_bytes(MAX_TEXT_BYTES)
    ]
    client_id: Annotated[
        str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    ]


class Stop(Payload):
    room_id: RoomId
    reply_id: str | None = Field(default=None, max_length=64)


# Every client event and its payload: the registry in events.py registers exactly these, and the
# web app's TypeScript types are generated from this table (frontend/scripts/dump_events.py).
CLIENT_EVENTS: dict[str, type[Payload]] = {
    "join": Join,
    "leave": Leave,
    "offer": Describe,
    "answer": Describe,
    "candidate": Candidate,
    "message": ChatMessage,
    "stop": Stop,
}
