"""The speech-to-text interface: one utterance in (16 kHz mono 16-bit PCM), its text out.

    recognition = stt.start(on_partial)      # at speech onset
    await recognition.feed(pcm)              # as the learner speaks (any chunk size)
    text = await recognition.finish()        # at the end of the utterance
    # or: await recognition.cancel()         # too short, or the call ended

A streaming vendor sends partial text to ``on_partial`` while the learner speaks (live
captions); a per-utterance vendor sends the audio at ``finish``; the offline recognizer decodes
as the audio arrives, so ``finish`` only closes the utterance. Failures are ``ProviderError``s.
"""

from __future__ import annotations

import io
import wave
from collections.abc import Awaitable, Callable
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

SAMPLE_RATE = 16_000
BYTES_PER_SECOND = SAMPLE_RATE * 2

Partial = Callable[[str], Awaitable[None]]


class Recognition(Protocol):
    # Seconds of audio fed so far (what a vendor bills).
    seconds: float

    async def feed(self, pcm: bytes) -> None: ...

    async def finish(self) -> str: ...

    async def cancel(self) -> None: ...


class STT(Protocol):
    provider: str
    # True for the recognizer that runs here: labelled offline, never billed.
    offline: bool

    def start(self, on_partial: Partial | None = None) -> Recognition: ...


class STTTimeouts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    connect: float = Field(default=5.0, gt=0)
    # From the end of the utterance to its final text.
    result: float = Field(default=10.0, gt=0)


def wav_bytes(pcm: bytes, sample_rate: int = SAMPLE_RATE) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm)
    return out.getvalue()
