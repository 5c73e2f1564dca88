"""Voice off: ``enabled`` is False and every sentence has no audio."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from app.providers.tts.base import Speech, no_chunks


class NoTTS:
    provider = "none"
    enabled = False
    billed = False
    content_type = "application/octet-stream"

    def voice_for(self, voices: Mapping[str, str], language: str) -> str:
        return ""

    @asynccontextmanager
    async def synthesize(self, text: str, voice_id: str) -> AsyncIterator[Speech]:
        yield Speech(
            provider=self.provider,
            content_type=self.content_type,
            characters=0,
            characters_billed=0,
            chunks=no_chunks(),
            ttfb_seconds=None,
        )
