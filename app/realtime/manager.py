"""The Socket.IO client manager that fans events out to every replica through Redis pub/sub.

python-socketio's stock ``AsyncRedisManager`` builds a fresh Redis client (and so a fresh pool)
whenever a publish fails, and its pool is unbounded: a burst of concurrent publishes opened over
a thousand connections here. This one publishes through the process's single, bounded command
client, and listens on a dedicated connection with no socket timeout (an idle channel is normal),
keepalive and health checks, re-subscribing with backoff after Redis restarts.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from socketio.async_pubsub_manager import AsyncPubSubManager

from app.store.redis import Redis

log = logging.getLogger(__name__)

LISTEN_POLL_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 5.0


class RedisPubSubManager(AsyncPubSubManager):  # type: ignore[misc]
    name = "holo-redis"

    def __init__(self, channel: str) -> None:
        super().__init__(channel=channel, logger=log)
        self._redis: Redis | None = None
        self._pubsub_redis: Redis | None = None
        self.subscribed = asyncio.Event()

    def bind(self, redis: Redis, pubsub_redis: Redis) -> None:
        """Called from the lifespan, which owns both clients (and closes them)."""
        self._redis = redis
        self._pubsub_redis = pubsub_redis

    async def _publish(self, data: Any) -> None:
        assert self._redis is not None, "bind() the manager before serving"
        # Retries on connection errors are the client's (redis-py Retry); if Redis stays down,
        # the error reaches the event handler, which answers the client with an error ack.
        await self._redis.publish(self.channel, json.dumps(data, separators=(",", ":")))

    async def _listen(self) -> AsyncIterator[str]:
        assert self._pubsub_redis is not None, "bind() the manager before serving"
        backoff = 0.1
        while True:
            pubsub = self._pubsub_redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self.subscribed.set()
                if backoff > 0.1:
                    log.info("pub/sub re-subscribed to %s", self.channel)
                backoff = 0.1
                while True:
                    message = await pubsub.get_message(timeout=LISTEN_POLL_SECONDS)
                    if message is not None and message.get("type") == "message":
                        yield message["data"]
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: resubscribe; the loop must never die
                self.subscribed.clear()
                log.warning("pub/sub connection lost (%s); retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:
                    pass
