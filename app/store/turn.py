"""The TURN REST secret the app signs relay credentials with (the operator rotates it)."""

from __future__ import annotations

from app.store import keys
from app.store.redis import Redis


class TurnSecrets:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def current(self, realm: str) -> str | None:
        """The realm's current secret; None until the operator has written one (or after Redis
        lost it and before the operator re-seeds it)."""
        secret: str | None = await self._redis.hget(keys.turn_current_secret(realm), "secret")
        return secret or None
