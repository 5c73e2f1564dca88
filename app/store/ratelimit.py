"""Fixed-window request counters in Redis, shared by every replica."""

from __future__ import annotations

import time
from dataclasses import dataclass

from app.store import keys
from app.store.redis import Redis

_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1])) end
return n
"""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    remaining: int
    retry_after: int


class RateLimiter:
    def __init__(self, redis: Redis, *, limit: int, window: int = keys.RATE_LIMIT_WINDOW) -> None:
        self._hit = redis.register_script(_HIT)
        self.limit = limit
        self.window = window

    async def hit(self, scope: str, subject: str, now: float | None = None) -> Verdict:
        now = time.time() if now is None else now
        window_start = int(now // self.window) * self.window
        count = int(
            await self._hit(
                keys=[keys.rate_limit(scope, subject, window_start)], args=[self.window + 1]
            )
        )
        retry_after = max(1, int(window_start + self.window - now + 0.999))
        return Verdict(
            allowed=count <= self.limit,
            remaining=max(0, self.limit - count),
            retry_after=retry_after,
        )
