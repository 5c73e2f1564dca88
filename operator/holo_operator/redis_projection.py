"""Write the secret history into Redis for coturn and the app, fenced by the leader lock."""

from dataclasses import dataclass

import redis.asyncio as aioredis
from holo_turn import keys as redis_keys
from redis.exceptions import ResponseError

from holo_operator.history import History, accepted

# One atomic script: refuse unless the caller's token is still the lock's value; then add every
# accepted secret, make the newest current for the app, and drop anything no longer accepted.
# The order (SADD, HSET, SREM) is the rotation contract; atomicity makes it hold for any reader.
_SYNC = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('FENCED lock is held by another operator instance')
end
local keep = {}
local added = 0
for i = 5, #ARGV do
  keep[ARGV[i]] = true
  added = added + redis.call('SADD', KEYS[2], ARGV[i])
end
redis.call('HSET', KEYS[3], 'id', ARGV[2], 'secret', ARGV[3], 'created_at', ARGV[4])
local removed = 0
for _, member in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if not keep[member] then
    removed = removed + redis.call('SREM', KEYS[2], member)
  end
end
return {added, removed}
"""


class FencedError(RuntimeError):
    """Another operator instance holds the lock; this one must not write."""


@dataclass(frozen=True)
class SyncResult:
    added: int
    removed: int


async def project(client: aioredis.Redis, realm: str, token: str, history: History) -> SyncResult:
    """Make Redis match `history` (idempotent; re-seeds a lost set or hash)."""
    current = history[-1]
    keys = [
        redis_keys.operator_lock(realm),
        redis_keys.coturn_secret_set(realm),
        redis_keys.current_secret_hash(realm),
    ]
    args = [token, current.id, current.secret, repr(current.created_at), *accepted(history)]
    try:
        added, removed = await client.eval(_SYNC, len(keys), *keys, *args)
    except ResponseError as exc:
        if str(exc).startswith("FENCED"):
            raise FencedError(str(exc)) from exc
        raise
    return SyncResult(added=int(added), removed=int(removed))
