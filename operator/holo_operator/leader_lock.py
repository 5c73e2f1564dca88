"""One operator instance acts per realm: a Redis lock whose every acquisition gets a fencing token.

kopf peering is not enough: a replica that was paused (GC, SIGSTOP, a frozen node) wakes with its
timers due and believes it still leads. Here the lock value is `<instance>:<n>` with `n` taken from
a counter that only grows, and every write the operator makes to Redis runs in a script that first
checks the lock still holds exactly that value (see `redis_projection`). A woken replica therefore
cannot write: its token is no longer the lock's value.
"""

from dataclasses import dataclass, field

import redis.asyncio as aioredis
from holo_turn import keys as redis_keys

# Renew if we hold it; otherwise take it only if free, with the next fencing number.
_ACQUIRE = """
local current = redis.call('GET', KEYS[1])
if current and ARGV[3] ~= '' and current == ARGV[3] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return current
end
if current then
  return false
end
local token = ARGV[1] .. ':' .. redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token, 'PX', ARGV[2])
return token
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass
class LeaderLock:
    """This instance's claim on one realm; `token` is None while another instance leads."""

    client: aioredis.Redis
    realm: str
    instance: str
    ttl_seconds: float
    token: str | None = field(default=None, init=False)

    async def acquire(self) -> str | None:
        """Take or renew the lock; returns the fencing token, or None if another holds it."""
        keys = [redis_keys.operator_lock(self.realm), redis_keys.operator_fence(self.realm)]
        ttl_ms = max(1, int(self.ttl_seconds * 1000))
        result = await self.client.eval(_ACQUIRE, 2, *keys, self.instance, ttl_ms, self.token or "")
        self.token = _text(result)
        return self.token

    async def release(self) -> None:
        if self.token is not None:
            await self.client.eval(_RELEASE, 1, redis_keys.operator_lock(self.realm), self.token)
            self.token = None


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode()
    return str(value)
