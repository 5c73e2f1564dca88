"""Open connections per user and per client address, counted in Redis so that the caps hold
across every replica.

Each subject (a user, an address) has a hash of its connection ids; each replica has a set
naming every slot it holds, so that the reaper can give back the slots of a replica that died
without saying goodbye (``forget_replica``).
"""

from __future__ import annotations

from app.store import keys
from app.store.redis import Redis

_ACQUIRE = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
redis.call('SADD', KEYS[2], KEYS[1] .. ' ' .. ARGV[1])
return 1
"""

_FORGET_REPLICA = """
local slots = redis.call('SMEMBERS', KEYS[1])
for _, slot in ipairs(slots) do
  local space = string.find(slot, ' ', 1, true)
  redis.call('HDEL', string.sub(slot, 1, space - 1), string.sub(slot, space + 1))
end
redis.call('DEL', KEYS[1])
return #slots
"""


class ConnectionSlots:
    def __init__(self, redis: Redis, replica_id: str, *, per_user: int, per_ip: int) -> None:
        self._redis = redis
        self._replica_id = replica_id
        self.per_user = per_user
        self.per_ip = per_ip
        self._acquire = redis.register_script(_ACQUIRE)
        self._forget = redis.register_script(_FORGET_REPLICA)

    async def acquire_user(self, user_id: str, sid: str) -> bool:
        return await self._take(keys.connections_of_user(user_id), sid, self.per_user)

    async def acquire_ip(self, ip: str, eio_sid: str) -> bool:
        return await self._take(keys.connections_of_ip(ip), eio_sid, self.per_ip)

    async def release_user(self, user_id: str, sid: str) -> None:
        await self._give_back(keys.connections_of_user(user_id), sid)

    async def release_ip(self, ip: str, eio_sid: str) -> None:
        await self._give_back(keys.connections_of_ip(ip), eio_sid)

    async def forget_replica(self, replica_id: str) -> int:
        """Give back every slot a dead replica held; returns how many."""
        return int(await self._forget(keys=[keys.replica_connections(replica_id)], args=[]))

    async def _take(self, subject: str, conn: str, limit: int) -> bool:
        taken = await self._acquire(
            keys=[subject, keys.replica_connections(self._replica_id)],
            args=[conn, limit, keys.CONNECTION_SLOT_TTL, self._replica_id],
        )
        return bool(taken)

    async def _give_back(self, subject: str, conn: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(subject, conn)
            pipe.srem(keys.replica_connections(self._replica_id), f"{subject} {conn}")
            await pipe.execute()
