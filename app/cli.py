"""``holo-tutor``: run one replica under uvicorn with a graceful, draining shutdown.

On SIGTERM (or Ctrl-C) the replica first drains — readiness turns 503, clients are told to
reconnect elsewhere — and only then stops; a second signal, or the grace period running out,
stops it at once.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
import threading
import time
from email.utils import formatdate
from types import FrameType

import uvicorn
from uvicorn.lifespan.on import LifespanOn
from uvicorn.server import ServerState

from app.config import load_settings
from app.main import HoloApp, create_app
from app.realtime.wsprotocol import LeanWebSocketProtocol

log = logging.getLogger(__name__)

# The cyclic garbage collector's first generation is collected every this many allocations
# (Python's default: 700). Nearly everything a replica allocates per event (packets, futures,
# dicts, models) dies young by reference counting, so at the default a saturated replica ran a
# collection every few messages: ~5 % of its CPU, for almost no garbage found
# (bench/README.md). Cycles are still collected, a few times less often.
GC_FIRST_GENERATION_THRESHOLD = 20_000


def tune_garbage_collector() -> None:
    """Fewer young-generation collections (above); the older generations keep their ratios."""
    _, second, third = gc.get_threshold()
    gc.set_threshold(GC_FIRST_GENERATION_THRESHOLD, second, third)


class Watchdog:
    """The last resort that makes "exits within the grace period" hold whatever hangs: once
    shutdown begins, a thread ends the process (non-zero) when the grace period is over. A
    thread, because what hangs may be the event loop itself."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self._timer: threading.Timer | None = None

    def arm(self) -> None:
        if self._timer is None:
            self._timer = threading.Timer(self.grace, self._expire)
            self._timer.daemon = True
            self._timer.start()

    def _expire(self) -> None:
        log.error("shutdown did not finish within %.0f s; exiting now", self.grace)
        logging.shutdown()
        os._exit(1)


def watched_lifespan(watchdog: Watchdog) -> type[LifespanOn]:
    class WatchedLifespan(LifespanOn):
        """uvicorn's lifespan, arming the watchdog when shutdown begins: after SIGTERM, and
        also when the start fails (a port that cannot be bound) and uvicorn shuts down
        without any signal."""

        async def shutdown(self) -> None:
            watchdog.arm()
            await super().shutdown()

    return WatchedLifespan


class DatedServerState(ServerState):
    """uvicorn's state shared by its connections, whose Date header is renewed when read.

    uvicorn renews it from a timer instead, which woke every replica once a second, idle or
    not: with eight replicas on two cores that was most of what an idle replica cost."""

    def __init__(self) -> None:
        self._headers: list[tuple[bytes, bytes]] = []
        self._second = 0
        super().__init__()

    @property
    def default_headers(self) -> list[tuple[bytes, bytes]]:
        now = int(time.time())
        if now != self._second and self._headers and self._headers[0][0] == b"date":
            self._second = now
            date = formatdate(now, usegmt=True).encode()
            self._headers = [(b"date", date), *self._headers[1:]]
        return self._headers

    @default_headers.setter
    def default_headers(self, headers: list[tuple[bytes, bytes]]) -> None:
        self._headers = headers
        self._second = 0


class DrainingServer(uvicorn.Server):
    # Set while main_loop runs: asking the server to exit wakes it.
    _wake: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    def __init__(self, config: uvicorn.Config, app: HoloApp) -> None:
        self._should_exit = False
        super().__init__(config)
        self.server_state = DatedServerState()
        self.holo = app
        self._draining: asyncio.Task[None] | None = None

    @property
    def should_exit(self) -> bool:
        return self._should_exit

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._should_exit = value
        if value and self._wake is not None and self._loop is not None:
            # Threadsafe: uvicorn sets it from its signal handler.
            self._loop.call_soon_threadsafe(self._wake.set)

    async def main_loop(self) -> None:
        """uvicorn's loop, woken only when asked to exit: uvicorn wakes it ten times a second to
        renew the Date header (``DatedServerState`` renews it when read) and to check whether
        to exit (the ``should_exit`` setter wakes it)."""
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        # Started: what start-up built (modules, the app, its services, validators) lives as
        # long as the process, so the collector stops walking it in every full collection.
        gc.freeze()
        should_exit = await self.on_tick(0)
        while not should_exit:
            await self._wake.wait()
            self._wake.clear()
            should_exit = await self.on_tick(0)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._draining is not None or self.should_exit:
            super().handle_exit(sig, frame)  # second signal: stop now
            return
        loop = asyncio.get_event_loop()
        self._draining = loop.create_task(self._drain_then_exit())
        loop.call_later(self.holo.settings.shutdown_grace_seconds, self._force_exit)

    async def _drain_then_exit(self) -> None:
        try:
            await self.holo.drain()
        except Exception:
            log.exception("drain failed; stopping anyway")
        self.should_exit = True

    def _force_exit(self) -> None:
        log.warning("grace period over; closing remaining connections")
        self.should_exit = True
        self.force_exit = True


def main() -> None:
    tune_garbage_collector()
    settings = load_settings()
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # our JSON logging, configured by create_app
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=max(
            1, int(settings.shutdown_grace_seconds - settings.drain_seconds)
        ),
        # uvicorn's websockets-sansio protocol, keeping less per connection.
        ws=LeanWebSocketProtocol,
        # Engine.IO pings every client already (and closes the silent ones); a websocket-level
        # ping on top would cost a timer per connection and twice the keepalive traffic.
        ws_ping_interval=None,
        # No per-message deflate (socket.io's default too): the frames are small JSON, which
        # compressing costs CPU on both ends and a zlib context per connection; and the
        # websocket's direct write path (app/realtime/wsprotocol.py) sends frames as they are.
        ws_per_message_deflate=False,
        lifespan="on",
    )
    config.load()
    config.lifespan_class = watched_lifespan(Watchdog(settings.shutdown_grace_seconds))
    server = DrainingServer(config, app)
    server.run()
    sys.exit(0 if server.started else 1)


if __name__ == "__main__":
    main()
