"""Learner profiles: one JSON string per user id, kept while the learner keeps coming."""

from __future__ import annotations

from app.models import Identity, Profile
from app.store import keys
from app.store.redis import Redis


class ProfileStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def get(self, who: Identity) -> Profile:
        """The stored profile, or the one a new learner starts with (their token's name,
        memory on)."""
        raw = await self._redis.get(keys.user_profile(who.user_id))
        if raw:
            return Profile.model_validate_json(raw)
        return Profile(user_id=who.user_id, display_name=who.display_name)

    async def put(self, profile: Profile) -> None:
        await self._redis.set(
            keys.user_profile(profile.user_id), profile.model_dump_json(), ex=keys.LEARNER_TTL
        )
