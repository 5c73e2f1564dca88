"""The LLM interface: chat messages in, an async iterator of events out.

A reply is zero or more ``TextDelta`` events followed by exactly one ``UsageReport``, which is
also the end marker. Failures are ``app.providers.errors.ProviderError`` subclasses; a failure
after the first delta is always ``StreamFailed``, so the pipeline knows the learner saw a part.

Callers that stop early (barge-in) should iterate inside ``contextlib.aclosing`` (or cancel the
task) so the HTTP stream is closed at once rather than when the generator is collected.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChatMessage(_Frozen):
    role: Literal["system", "user", "assistant"]
    content: str


class Persona(_Frozen):
    """Who the tutor is. Remote models read the persona from the system prompt; the offline tutor
    has no model to read it with, so it gets these fields directly."""

    name: str
    subject: str
    level: str | None = None


class TextDelta(_Frozen):
    kind: Literal["delta"] = "delta"
    text: str
    # True when no model wrote this (the offline tutor): the UI must say so.
    offline: bool = False


class UsageReport(_Frozen):
    kind: Literal["usage"] = "usage"
    provider: str
    model: str
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    # The upstream reported no usage, so the counts are estimated from the text (chars / 4).
    estimated: bool = False
    offline: bool = False
    finish_reason: str | None = None
    # From the request to the first delta (retries included); None for an empty reply.
    ttft_seconds: float | None = None
    duration_seconds: float = Field(ge=0)


LLMEvent = TextDelta | UsageReport


class LLMTimeouts(_Frozen):
    connect: float = Field(default=5.0, gt=0)
    # From sending the request to the first text delta, per attempt (comments and role-only
    # chunks do not count: OpenRouter sends keep-alive comments while the model is queued).
    first_token: float = Field(default=20.0, gt=0)
    # The longest silence between two events once the reply is streaming.
    between_chunks: float = Field(default=15.0, gt=0)


class LLM(Protocol):
    provider: str
    model: str
    offline: bool

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        persona: Persona | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> AsyncGenerator[LLMEvent, None]: ...


def estimate_tokens(text: str) -> int:
    """The usual rule of thumb (about four characters per token) for upstreams that report none."""
    return (len(text) + 3) // 4
