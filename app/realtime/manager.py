"""The Socket.IO client manager that fans events out to every replica through Redis pub/sub.

python-socketio's stock ``AsyncRedisManager`` builds a fresh Redis client (and so a fresh pool)
whenever a publish fails, and its pool is unbounded: a burst of concurrent publishes opened over
a thousand connections here. This one publishes through the process's single, bounded command
client, and listens on a dedicated connection with no socket timeout (an idle channel is normal),
keepalive and health checks, re-subscribing with backoff after Redis restarts.

It also delivers faster. The stock manager hands every event to one task per recipient and
waits for them, so its single listener gets about one event through per event-loop turn; under
load, delivery to other replicas fell seconds behind the acks (bench/realtime_relay.py). Here an
event is queued on each recipient's Engine.IO socket directly (an unbounded queue: nothing
waits), and a replica skips, before decoding them, its own events and events for rooms none of
its clients is in.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from engineio import packet as eio_packet
from socketio import packet
from socketio.async_pubsub_manager import AsyncPubSubManager

from app.store.redis import Redis

log = logging.getLogger(__name__)

LISTEN_POLL_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 5.0
# A backlog is drained without waiting, but other tasks get a turn every this many events.
YIELD_EVERY = 64
EMIT_HEADER = "holo-emit"


class RedisPubSubManager(AsyncPubSubManager):  # type: ignore[misc]
    name = "holo-redis"

    def __init__(self, channel: str) -> None:
        super().__init__(channel=channel, logger=log)
        self._redis: Redis | None = None
        self._pubsub_redis: Redis | None = None
        self.subscribed = asyncio.Event()
        # Told of every room event from another replica that this replica receives (the voice
        # sessions play the clips of replies that another replica runs).
        self.observers: list[Callable[[str, Any, str | None], None]] = []

    def bind(self, redis: Redis, pubsub_redis: Redis) -> None:
        """Called from the lifespan, which owns both clients (and closes them)."""
        self._redis = redis
        self._pubsub_redis = pubsub_redis

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        if message.get("callback") or message.get("binary"):
            await super()._handle_emit(message)  # rare paths: keep the library's handling
            return
        namespace = message.get("namespace") or "/"
        if namespace not in self.rooms:
            return
        for observer in self.observers:
            data = message["data"]
            observer(message["event"], data[0] if data else None, message.get("room"))
        skip = message.get("skip_sid")
        skip_sids = skip if isinstance(skip, list) else [skip]
        encoded = self.server.packet_class(
            packet.EVENT, namespace=namespace, data=[message["event"], *message["data"]]
        ).encode()
        frames = [
            eio_packet.Packet(eio_packet.MESSAGE, p)
            for p in (encoded if isinstance(encoded, list) else [encoded])
        ]
        recipients = [
            eio_sid
            for sid, eio_sid in self.get_participants(namespace, message.get("room"))
            if sid not in skip_sids
        ]
        for eio_sid in recipients:
            for frame in frames:
                await self.server._send_eio_packet(eio_sid, frame)

    async def _publish(self, data: Any) -> None:
        assert self._redis is not None, "bind() the manager before serving"
        body = json.dumps(data, separators=(",", ":"))
        room = data.get("room")
        if data.get("method") == "emit" and isinstance(room, str) and " " not in room:
            # A one-line header names the sender and the room, so that a replica can drop the
            # events that are its own or that none of its clients would receive without
            # decoding them (every replica receives every event on the one channel).
            namespace = data.get("namespace") or "/"
            body = f"{EMIT_HEADER} {self.host_id} {namespace} {room}\n{body}"
        # Retries on connection errors are the client's (redis-py Retry); if Redis stays down,
        # the error reaches the event handler, which answers the client with an error ack.
        await self._redis.publish(self.channel, body)

    def _for_us(self, raw: str) -> str | None:
        """The JSON to handle, or None for an event this replica has nothing to do with."""
        if not raw.startswith(EMIT_HEADER + " "):
            return raw
        header, _, body = raw.partition("\n")
        _, host_id, namespace, room = header.split(" ", 3)
        if host_id == self.host_id:
            return None  # delivered locally when it was emitted
        if room not in self.rooms.get(namespace, {}):
            return None  # none of our clients is in that room (or is that socket)
        return body

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
                received = 0
                while True:
                    message = await pubsub.get_message(timeout=LISTEN_POLL_SECONDS)
                    if message is None or message.get("type") != "message":
                        continue
                    body = self._for_us(message["data"])
                    if body is None:
                        continue
                    yield body
                    received += 1
                    if received % YIELD_EVERY == 0:
                        await asyncio.sleep(0)
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
