"""The shapes the service stores and sends: rooms, members, messages, sessions.

These are the pydantic models behind REST responses and Socket.IO payloads alike, so the two
never disagree about what a message looks like.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Identity(Frozen):
    """Who is calling, from a verified token: never from the request body."""

    user_id: str
    display_name: str
    kind: Literal["guest", "external"] = "guest"


class Sender(Frozen):
    kind: Literal["user", "ai"]
    user_id: str | None = None
    display_name: str


class Message(Frozen):
    id: str
    seq: int = Field(description="Position in the room's conversation, from 1.")
    room_id: str
    sender: Sender
    text: str
    ts: float
    client_id: str | None = None
    audio_urls: list[str] | None = Field(
        default=None,
        description="The reply's audio clips, in order: URLs signed when the message is read, "
        "valid for HOLO_MEDIA_URL_TTL_SECONDS (read the message again for fresh ones); absent "
        "once the audio is past its retention period.",
    )
    reply_to: str | None = None
    metadata: dict[str, str | bool | int | float] | None = None


class Peer(Frozen):
    sid: str
    user_id: str
    display_name: str


class Room(Frozen):
    room_id: str
    owner_id: str
    companion_id: str
    status: Literal["active", "ended"]
    created_at: float
    ended_at: float | None = None
    session_id: str | None = None


class SessionRecord(Frozen):
    session_id: str
    room_id: str
    owner_id: str
    companion_id: str
    participants: list[str]
    started_at: float
    ended_at: float
    duration_seconds: int
    message_count: int
    transcript_preview: str
    # Attached on read (written by the summary job shortly after the room ends).
    summary: SessionSummary | None = None


SummaryStatus = Literal["ready", "skipped", "failed"]


class SessionSummary(Frozen):
    """What a session was about, for the history page and the tutor's memory."""

    status: SummaryStatus
    # ready: "llm" (written by the model) or "learner_messages" (the offline tutor: built from
    # the learner's own messages, no model involved); skipped/failed: why there is none.
    source: Literal["llm", "learner_messages"] | None = None
    reason: Literal["llm_budget", "no_learner_messages", "llm_error", "unreadable"] | None = None
    label: str = Field(description="One line for people: what this summary is, or why none.")
    topics: list[str] = Field(default_factory=list)
    went_well: str = ""
    practise_next: str = ""
    written_at: float


class Profile(Frozen):
    """A learner's profile: what they tell the tutor about themselves."""

    user_id: str
    display_name: str
    preferred_language: str | None = None
    goals: str = ""
    levels: dict[str, str] = Field(
        default_factory=dict, description="Level per subject, e.g. {'mathematics': 'secondary'}."
    )
    memory: bool = Field(
        default=True,
        description="Whether new sessions start with the profile and earlier summaries.",
    )
    updated_at: float | None = None


SessionRecord.model_rebuild()
