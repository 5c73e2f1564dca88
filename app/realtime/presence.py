"""The replica heartbeat, and the reaper that removes the peers of replicas that died.

A replica killed with SIGKILL cannot say goodbye: its sockets stay in the rooms' member hashes.
Every replica refreshes its own ``alive`` key and, on the same tick, looks for replicas whose key
has lapsed; the first to take a dead replica's lock removes its members and tells the rooms.

A replica that was only stalled (CPU starvation, a long pause) can come back to find itself
reaped: its clients are still connected but no longer in their rooms. It then asks them to
reconnect, and they rejoin as after any reconnect.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from app.services import Services
from app.store.redis import UNAVAILABLE_ERRORS

log = logging.getLogger(__name__)

# The rooms gauge is refreshed this often, not on every beat: it costs two Redis round trips,
# and every replica reports the same cluster-wide figure (Prometheus scrapes every 15-60 s).
GAUGE_SECONDS = 30.0


class Presence:
    def __init__(
        self,
        services: Services,
        *,
        on_reaped: Callable[[], Awaitable[None]],
        remove_member: Callable[[str, str, str], Awaitable[None]],
    ) -> None:
        self.s = services
        self.registry = services.replicas
        self._on_reaped = on_reaped
        self._remove_member = remove_member  # (room_id, sid, replica_id): leave + peer-left
        self._registered = False
        # Reap only after our own heartbeat has been steady for a whole TTL: right after a Redis
        # restart every alive key may have lapsed, and the other replicas need one interval to
        # write theirs again before anyone may be judged dead.
        self._steady_since: float | None = None
        self._gauge_at: float | None = None

    async def run(self) -> None:
        interval = self.s.settings.heartbeat_interval_seconds
        task = asyncio.current_task()
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except UNAVAILABLE_ERRORS as exc:
                self._steady_since = None
                log.warning("heartbeat failed, Redis unavailable: %s", exc)
            except Exception:
                self._steady_since = None
                log.exception("heartbeat failed")
            if task is not None and task.cancelling():
                # The embedded store's pipeline can swallow a cancellation that arrives during
                # a tick; without this the shutdown waited for a stop that never came.
                raise asyncio.CancelledError
            await asyncio.sleep(interval)

    async def tick(self) -> None:
        was_registered = await self.registry.heartbeat()
        if self._registered and not was_registered:
            log.warning(
                "this replica was taken for dead and its peers removed; reconnecting its clients"
            )
            await self._on_reaped()
        self._registered = True
        now = time.monotonic()
        if self._steady_since is None:
            self._steady_since = now
        if self._gauge_at is None or now - self._gauge_at >= GAUGE_SECONDS:
            self.s.metrics.rooms_active.set(await self.s.rooms.count_active(time.time()))
            self._gauge_at = now
        if now - self._steady_since >= self.s.settings.heartbeat_ttl_seconds:
            await self.reap()

    async def reap(self) -> None:
        for dead in await self.registry.dead_replicas():
            if not await self.registry.claim(dead):
                continue
            await self.s.connections.forget_replica(dead)
            sockets = await self.registry.sockets_of(dead)
            log.info("replica %s is gone; removing its %d peers", dead, len(sockets))
            for sid, room_id in sockets.items():
                await self._remove_member(room_id, sid, dead)
            await self.registry.forget(dead)
