"""The workers' long-running loops: restarted with backoff when they fail, until cancelled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from app.store.redis import UNAVAILABLE_ERRORS

log = logging.getLogger(__name__)


async def forever(loop: Callable[[], Awaitable[None]], name: str) -> None:
    """Run ``loop`` again whenever it fails: a store outage is a warning, anything else an
    error; the pause doubles up to 5 s and resets once the loop returns normally."""
    backoff = 0.1
    while True:
        try:
            await loop()
            backoff = 0.1
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            level = logging.WARNING if isinstance(exc, UNAVAILABLE_ERRORS) else logging.ERROR
            log.log(level, "%s loop failed (%r); again in %.1fs", name, exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
