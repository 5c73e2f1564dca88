"""In-process stand-ins for a TTS engine and a storage backend, for tests that drive the
speaker or the tutor without servers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from app.providers.errors import StorageError, UpstreamError
from app.providers.tts import Speech
from app.providers.tts.base import chunks_of


class GatedTTS:
    """Each sentence's audio is released by the test (``release``), in any order."""

    provider = "gated"
    enabled = True
    billed = True
    content_type = "audio/mpeg"

    def __init__(self) -> None:
        self.gates: dict[str, asyncio.Event] = {}
        self.fail: set[str] = set()

    def release(self, text: str) -> None:
        self.gates.setdefault(text, asyncio.Event()).set()

    def voice_for(self, voices: Mapping[str, str], language: str) -> str:
        return language

    @asynccontextmanager
    async def synthesize(self, text: str, voice_id: str) -> AsyncIterator[Speech]:
        await self.gates.setdefault(text, asyncio.Event()).wait()
        if text in self.fail:
            raise UpstreamError("down", provider=self.provider)
        yield Speech(
            provider=self.provider,
            content_type=self.content_type,
            characters=len(text),
            characters_billed=len(text),
            chunks=chunks_of(text.encode(), 4),
            ttfb_seconds=0.0,
        )


class MemoryStorage:
    backend = "memory"

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.down = False
        self._stored = asyncio.Event()

    async def holding(self, count: int) -> None:
        while len(self.objects) < count:
            self._stored.clear()
            await self._stored.wait()

    async def put(self, key: str, data: bytes, content_type: str) -> str:
        if self.down:
            raise StorageError("down", backend=self.backend)
        self.objects[key] = data
        self._stored.set()
        return await self.url_for(key)

    async def url_for(self, key: str) -> str:
        return f"mem://{key}"

    async def delete_prefix(self, prefix: str) -> int:
        gone = [key for key in self.objects if key.startswith(prefix)]
        for key in gone:
            del self.objects[key]
        return len(gone)


class NoEmitter:
    """An emitter for tutor parts run in the test process: nobody is connected to hear."""

    async def emit(
        self,
        event: str,
        data: object = None,
        *,
        to: str | None = None,
        room: str | None = None,
        skip_sid: str | None = None,
        ignore_queue: bool = False,
    ) -> None:
        pass
