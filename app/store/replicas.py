"""Replica liveness, so that the peers of a replica that died are removed by the others.

Each replica refreshes a short-lived ``alive`` key; its sockets are listed in a hash as they join
rooms. A replica whose key has lapsed is reaped by whichever live replica takes its lock first.

The registry set and each replica's keys are on different slots of a Redis Cluster, so they are
written one after the other, in the order that never shows a live replica as dead: the alive key
is written before the replica is listed, and the listing is removed before the alive key.
"""

from __future__ import annotations

from app.store import keys
from app.store.redis import Redis, get_many

REAP_LOCK_SECONDS = 30


class ReplicaRegistry:
    def __init__(self, redis: Redis, replica_id: str, ttl_seconds: float) -> None:
        self._redis = redis
        self.replica_id = replica_id
        self._ttl_ms = int(ttl_seconds * 1000)

    async def heartbeat(self) -> bool:
        """Refresh our alive key; returns False if we were not registered (our first beat, or
        another replica judged us dead and removed our peers while we were stalled)."""
        await self._redis.set(keys.replica_alive(self.replica_id), "1", px=self._ttl_ms)
        added = await self._redis.sadd(keys.replicas(), self.replica_id)
        return not added

    async def resign(self) -> None:
        """A clean shutdown: leave nothing for the reaper to find."""
        await self._redis.srem(keys.replicas(), self.replica_id)
        await self._redis.delete(keys.replica_alive(self.replica_id))
        await self._redis.delete(keys.replica_sockets(self.replica_id))

    async def dead_replicas(self) -> list[str]:
        known = sorted(await self._redis.smembers(keys.replicas()))
        others = [r for r in known if r != self.replica_id]
        if not others:
            return []
        alive = await get_many(self._redis, [keys.replica_alive(r) for r in others])
        return [r for r, flag in zip(others, alive, strict=True) if flag is None]

    async def claim(self, dead_replica: str) -> bool:
        """Only one live replica reaps a dead one at a time; the lock lapses if it dies too."""
        lock = f"{keys.replica_alive(dead_replica)}:reaping"
        return bool(await self._redis.set(lock, self.replica_id, nx=True, ex=REAP_LOCK_SECONDS))

    async def sockets_of(self, replica_id: str) -> dict[str, str]:
        """socket id -> room id, for the members a replica held."""
        sockets: dict[str, str] = await self._redis.hgetall(keys.replica_sockets(replica_id))
        return sockets

    async def forget(self, replica_id: str) -> None:
        # The listing last: a reaper that dies in between leaves the replica to the next one.
        await self._redis.delete(keys.replica_sockets(replica_id))
        await self._redis.srem(keys.replicas(), replica_id)
