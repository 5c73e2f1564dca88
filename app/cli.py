"""``holo-tutor``: run one replica under uvicorn with a graceful, draining shutdown.

On SIGTERM (or Ctrl-C) the replica first drains — readiness turns 503, clients are told to
reconnect elsewhere — and only then stops; a second signal, or the grace period running out,
stops it at once.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from types import FrameType

import uvicorn

from app.config import load_settings
from app.main import HoloApp, create_app

log = logging.getLogger(__name__)


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: HoloApp) -> None:
        super().__init__(config)
        self.holo = app
        self._draining: asyncio.Task[None] | None = None

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
        ws="websockets-sansio",
    )
    server = DrainingServer(config, app)
    server.run()
    sys.exit(0 if server.started else 1)


if __name__ == "__main__":
    main()
