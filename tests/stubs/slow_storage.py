"""A Storage wrapper with latency and an outage switch, for pipeline tests and benchmarks
(the benchmark's reference profile has 30 ms of storage latency)."""

from __future__ import annotations

import asyncio

from app.providers.errors import StorageError
from app.providers.storage.base import Storage


class SlowStorage:
    def __init__(self, inner: Storage, *, latency: float = 0.03) -> None:
        self.inner = inner
        self.backend = inner.backend
        self.latency = latency
        self.down = False  # True: every call fails as an unreachable backend would
        self.puts: list[tuple[str, int, str]] = []  # key, size, content type

    async def put(self, key: str, data: bytes, content_type: str) -> str:
        await asyncio.sleep(self.latency)
        if self.down:
            raise StorageError("storage is down (test switch)", backend=self.backend)
        self.puts.append((key, len(data), content_type))
        return await self.inner.put(key, data, content_type)

    async def url_for(self, key: str) -> str:
        if self.down:
            raise StorageError("storage is down (test switch)", backend=self.backend)
        return await self.inner.url_for(key)

    async def delete_prefix(self, prefix: str) -> int:
        if self.down:
            raise StorageError("storage is down (test switch)", backend=self.backend)
        return await self.inner.delete_prefix(prefix)
