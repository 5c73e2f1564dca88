"""Open connections per user and per client address, counted in Redis so that the caps hold
across every replica.

Each subject (a user, an address) has a hash of its connection ids; each replica has a set
naming every slot it holds, so that the reaper can give back the slots of a replica that died
without saying goodbye (``forget_replica``).

The subject's hash and the replica's set are on different slots of a Redis Cluster, so they are
written one after the other, in the order that keeps the reaper's guarantee (every slot a
replica holds is named in its set): named before it is taken, un-named after it is given back.
A name left over by a process that died in between points at a connection id nobody holds (ids
are unique), so giving it back later removes nothing of anyone else's.
"""

from __future__ import annotations

from app.store import keys
from app.store.redis import Redis

_ACQUIRE = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""


class ConnectionSlots:
    def __init__(self, redis: Redis, replica_id: str, *, per_user: int, per_ip: int) -> None:
        self._redis = redis
        self._replica_id = replica_id
        self.per_user = per_user
        self.per_ip = per_ip
        self._acquire = redis.register_script(_ACQUIRE)

    async def acquire_user(self, user_id: str, sid: str) -> bool:
        return await self._take(keys.connections_of_user(user_id), sid, self.per_user)

    async def acquire_ip(self, ip: str, eio_sid: str) -> bool:
        return await self._take(keys.connections_of_ip(ip), eio_sid, self.per_ip)

    async def release_user(self, user_id: str, sid: str) -> None:
        await self._give_back(keys.connections_of_user(user_id), sid)

    async def release_ip(self, ip: str, eio_sid: str) -> None:
        await self._give_back(keys.connections_of_ip(ip), eio_sid)

    async def forget_replica(self, replica_id: str) -> int:
        """Give back every slot a dead replica held; returns how many. Repeatable: the set goes
        last, so a reaper that dies half-way leaves the rest to the next one."""
        index = keys.replica_connections(replica_id)
        slots: set[str] = await self._redis.smembers(index)
        if slots:
            async with self._redis.pipeline(transaction=False) as pipe:
                for slot in slots:
                    subject, _, conn = slot.partition(" ")
                    pipe.hdel(subject, conn)
                await pipe.execute()
        await self._redis.delete(index)
        return len(slots)

    async def _take(self, subject: str, conn: str, limit: int) -> bool:
        index = keys.replica_connections(self._replica_id)
        await self._redis.sadd(index, f"{subject} {conn}")
        taken = await self._acquire(
            keys=[subject], args=[conn, limit, keys.CONNECTION_SLOT_TTL, self._replica_id]
        )
        if not taken:
            await self._redis.srem(index, f"{subject} {conn}")
        return bool(taken)

    async def _give_back(self, subject: str, conn: str) -> None:
        await self._redis.hdel(subject, conn)
        await self._redis.srem(keys.replica_connections(self._replica_id), f"{subject} {conn}")
