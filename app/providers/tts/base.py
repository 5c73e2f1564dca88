"""The TTS interface: one sentence in, its audio out as a stream of byte chunks.

    async with tts.synthesize(sentence, voice_id) as speech:
        audio = await speech.read()          # or: async for chunk in speech
    url = await storage.put(key, audio, speech.content_type)

Entering ``synthesize`` sends the request and waits for the first audio bytes (retrying 429/5xx
until then); leaving it closes the stream, so a cancelled reply (barge-in) stops the download at
once. Failures are ``ProviderError``s; one after the first byte is ``StreamFailed``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field


class Speech:
    """One sentence's audio while it streams, with what the pipeline records about it."""

    def __init__(
        self,
        *,
        provider: str,
        content_type: str,
        characters: int,
        characters_billed: int,
        chunks: AsyncIterator[bytes],
        ttfb_seconds: float | None,
    ) -> None:
        self.provider = provider
        self.content_type = content_type
        # Characters synthesized (holo_tts_characters_total) and what the vendor charges for
        # them (the monthly budget): ElevenLabs' character-cost header, 0 for local engines.
        self.characters = characters
        self.characters_billed = characters_billed
        # From the request to the first audio bytes (retries included).
        self.ttfb_seconds = ttfb_seconds
        self._chunks = chunks

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self._chunks])


class TTS(Protocol):
    provider: str
    # False for "none": the pipeline skips synthesis and storage entirely.
    enabled: bool
    # Whether the vendor charges for what it speaks (then the monthly TTS budget applies).
    billed: bool
    content_type: str

    def voice_for(self, voices: Mapping[str, str], language: str) -> str:
        """A companion's voice in this engine's naming, from the catalogue's ``voices`` (engine
        name -> voice) and the companion's first language."""
        ...

    def synthesize(self, text: str, voice_id: str) -> AbstractAsyncContextManager[Speech]: ...


class TTSTimeouts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    connect: float = Field(default=5.0, gt=0)
    # From the request to the first audio bytes, per attempt.
    first_byte: float = Field(default=10.0, gt=0)
    # The longest silence between two chunks once audio is flowing.
    between_chunks: float = Field(default=10.0, gt=0)


async def no_chunks() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover  (makes this an async generator)


async def chunks_of(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]
