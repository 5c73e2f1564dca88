"""Clients and per-realm state shared by all handlers of one process (kept in kopf's memo)."""

import asyncio
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from holo_operator.config import OperatorConfig
from holo_operator.kube import KubeClient
from holo_operator.leader_lock import LeaderLock


@dataclass
class Runtime:
    config: OperatorConfig
    kube: KubeClient
    redis_clients: dict[str, aioredis.Redis] = field(default_factory=dict)
    locks: dict[str, LeaderLock] = field(default_factory=dict)
    # kopf may run a timer and a change handler of one object at once; they take turns here.
    guards: dict[str, asyncio.Lock] = field(default_factory=dict)
    # Consecutive failed reconciles per object, for exponential backoff (timers get no `retry`).
    failures: dict[str, int] = field(default_factory=dict)
    # The last known role per realm (True: leading), to log changes rather than every tick.
    roles: dict[str, bool] = field(default_factory=dict)

    def redis(self, url: str) -> aioredis.Redis:
        if url not in self.redis_clients:
            self.redis_clients[url] = aioredis.Redis.from_url(
                url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30
            )
        return self.redis_clients[url]

    def lock(self, realm: str, client: aioredis.Redis) -> LeaderLock:
        lock = self.locks.get(realm)
        if lock is None or lock.client is not client:
            lock = LeaderLock(client, realm, self.config.instance, self.config.lock_ttl_seconds)
            self.locks[realm] = lock
        return lock

    def guard(self, uid: str) -> asyncio.Lock:
        return self.guards.setdefault(uid, asyncio.Lock())

    async def close(self) -> None:
        for lock in self.locks.values():
            try:
                await lock.release()
            except Exception:  # best effort on shutdown; the lock's TTL frees it anyway
                pass
        for client in self.redis_clients.values():
            await client.aclose()
        await self.kube.close()
