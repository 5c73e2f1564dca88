"""The fixed-window limiter is atomic: a burst from many replicas admits exactly the limit."""

from __future__ import annotations

import asyncio

from app.store.ratelimit import RateLimiter
from app.store.redis import Redis


async def test_a_burst_admits_exactly_the_limit(redis: Redis) -> None:
    limiter = RateLimiter(redis, limit=100)
    now = 1_800_000_010.0
    verdicts = await asyncio.gather(*(limiter.hit("api", "10.0.0.1", now=now) for _ in range(150)))
    assert sum(v.allowed for v in verdicts) == 100
    refused = [v for v in verdicts if not v.allowed]
    assert all(v.retry_after == 50 and v.remaining == 0 for v in refused)
    # Another client and the next window are counted separately.
    assert (await limiter.hit("api", "10.0.0.2", now=now)).allowed
    assert (await limiter.hit("api", "10.0.0.1", now=now + 60)).allowed
