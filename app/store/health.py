"""Whether the store answers, for readiness."""

from __future__ import annotations

from app.store.redis import Redis


class StoreHealth:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def ping(self) -> None:
        """Raises one of ``UNAVAILABLE_ERRORS`` when Redis does not answer."""
        await self._redis.ping()
