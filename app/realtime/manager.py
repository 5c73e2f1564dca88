"""The Socket.IO client manager that fans events out to the replicas through Redis pub/sub.

**Room-affine channels.** An event for a room is published (``SPUBLISH``, sharded pub/sub) on
that room's channel, which is hash-tagged like the room's keys; a replica subscribes
(``SSUBSCRIBE``) to the channel of a room while one of its clients is in it, and only then. A
replica therefore receives the events of its own rooms and nothing else, whatever the replica
count (with one shared channel, every replica received and skipped every event), and on a Redis
Cluster a room's channel lives on the node of its slot. Joining waits for Redis to confirm the
subscription before the join handler reads the room's history: anything said after that read
arrives as an event, anything before is in the history. Signaling to a socket of the room on
another replica goes through the room's channel too (``emit_to_member``). Everything else (a
broadcast, the library's cross-replica disconnect and room changes) still goes through one
shared channel, as python-socketio's pub/sub managers do.

**One encoding.** The body of a room event is a one-line header (sender replica, namespace, room,
socket to skip) and the Socket.IO packet already encoded for the local recipients; a receiving
replica writes those bytes to its sockets without decoding JSON (the stock manager encodes the
event as JSON for the channel, decodes it on every replica and encodes the packet again).

**Delivery.** The stock manager hands every event to one task per recipient and waits for them,
so its single listener got about one event through per event-loop turn; under load, delivery to
other replicas fell seconds behind the acks (bench/realtime_relay.py). Here an event is queued on
each recipient's Engine.IO socket directly (an unbounded queue: nothing waits).

**Connections.** Publishing goes through the process's bounded command client (the stock
manager built a fresh, unbounded client whenever a publish failed), and the subscriptions share
one dedicated connection with no socket timeout (an idle channel is normal), keepalive and health
checks, re-subscribed with backoff after Redis restarts.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from engineio import packet as eio_packet
from socketio import packet
from socketio.async_pubsub_manager import AsyncPubSubManager

from app.store import keys
from app.store.messages import Broadcast
from app.store.redis import Redis

log = logging.getLogger(__name__)

LISTEN_POLL_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 5.0
# A backlog is drained without waiting, but other tasks get a turn every this many events.
YIELD_EVERY = 64
EMIT_HEADER = "holo-emit"
# The room events the observers are told of, as their encoded packets start (an EVENT of the
# default namespace): the clips of replies another replica runs, for this replica's voice calls.
OBSERVED = '2["ai-audio",'
NO_SKIP = "-"
_SLOT = "\x00"  # stands for the payload in a packet encoded around it


class RedisPubSubManager(AsyncPubSubManager):  # type: ignore[misc]
    name = "holo-redis"

    def __init__(self, channel: str) -> None:
        super().__init__(channel=channel, logger=log)
        self._redis: Redis | None = None
        self._pubsub_redis: Redis | None = None
        self._subscribe_timeout = 5.0
        # Set once the shared channel and every room channel wanted are subscribed (readiness).
        self.subscribed = asyncio.Event()
        # Told of every room event from another replica that this replica receives (the voice
        # sessions play the clips of replies that another replica runs).
        self.observers: list[Callable[[str, Any, str | None], None]] = []
        # Room channels this replica needs (it has a client in the room), and, on the current
        # subscription connection, how many SSUBSCRIBEs were sent and confirmed per channel.
        self._wanted: set[str] = set()
        self._sent: dict[str, int] = {}
        self._confirmed: dict[str, int] = {}
        self._waiters: dict[str, list[tuple[int, asyncio.Future[None]]]] = {}
        self._pubsub: Any = None  # the live redis-py PubSub, once its subscriptions are sent
        self._templates: dict[str, tuple[str, ...]] = {}  # event -> packet around its payload

    def bind(self, redis: Redis, pubsub_redis: Redis, subscribe_timeout: float = 5.0) -> None:
        """Called from the lifespan, which owns both clients (and closes them)."""
        self._redis = redis
        self._pubsub_redis = pubsub_redis
        self._subscribe_timeout = subscribe_timeout

    # -- rooms: subscribe while a client of ours is in one -----------------------------------

    async def enter_room(
        self, sid: str, namespace: str, room: str, eio_sid: str | None = None
    ) -> None:
        local = self.is_connected(sid, namespace) or self.is_pre_connected(sid, namespace)
        await super().enter_room(sid, namespace, room, eio_sid=eio_sid)
        if local and room != sid and isinstance(room, str):
            await self._subscribe_room(room)

    async def leave_room(self, sid: str, namespace: str, room: str) -> None:
        await super().leave_room(sid, namespace, room)
        await self._release_rooms(namespace, [room])

    async def _handle_leave_room(self, message: dict[str, Any]) -> None:
        # Another replica took one of our sockets out of a room (a rejoin elsewhere replaced it).
        await super()._handle_leave_room(message)
        await self._release_rooms(message.get("namespace") or "/", [message.get("room")])

    async def disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        rooms = [r for r in self.get_rooms(sid, namespace) if r != sid]
        await super().disconnect(sid, namespace, **kwargs)
        await self._release_rooms(namespace or "/", rooms)

    async def _subscribe_room(self, room: str) -> None:
        """Returns once Redis has confirmed this replica's subscription to the room's channel."""
        channel = keys.room_channel(room)
        if channel in self._wanted and self._confirmed.get(channel, 0) >= self._sent.get(
            channel, 1
        ):
            return  # already subscribed for another of our clients
        self._wanted.add(channel)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._pubsub is None:
            # The listener is (re)connecting: it subscribes to every wanted channel, and its
            # first confirmation for this one releases us.
            self._waiters.setdefault(channel, []).append((1, future))
        else:
            n = self._sent[channel] = self._sent.get(channel, 0) + 1
            self._waiters.setdefault(channel, []).append((n, future))
            try:
                await self._pubsub.ssubscribe(channel)
            except Exception as exc:  # the listener notices too, and resubscribes everything
                log.warning("could not subscribe to %s: %s", channel, exc)
        try:
            await asyncio.wait_for(future, self._subscribe_timeout)
        except TimeoutError:
            raise ConnectionError(f"Redis did not confirm the subscription to {channel}") from None

    async def _release_rooms(self, namespace: str, rooms: list[Any]) -> None:
        for room in rooms:
            if not isinstance(room, str) or room in self.rooms.get(namespace, {}):
                continue  # another of our clients is still in it
            channel = keys.room_channel(room)
            if channel not in self._wanted:
                continue
            self._wanted.discard(channel)
            if self._pubsub is not None:
                try:
                    await self._pubsub.sunsubscribe(channel)
                except Exception as exc:  # a reconnect subscribes to wanted channels only
                    log.warning("could not unsubscribe from %s: %s", channel, exc)

    def _on_room_subscribed(self, channel: str) -> None:
        confirmed = self._confirmed[channel] = self._confirmed.get(channel, 0) + 1
        waiting = self._waiters.get(channel)
        if not waiting:
            return
        still = []
        for n, future in waiting:
            if n <= confirmed:
                if not future.done():
                    future.set_result(None)
            else:
                still.append((n, future))
        if still:
            self._waiters[channel] = still
        else:
            del self._waiters[channel]

    # -- publishing ------------------------------------------------------------------------

    async def emit_to_member(self, event: str, data: Any, sid: str, room: str) -> None:
        """An event for one socket of ``room`` (signaling), published on the room's channel when
        the socket is on another replica: only the replicas with a client in the room see it."""
        await self.emit(event, data, room=sid, via_room=room)

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        namespace = namespace or "/"
        local_only = bool(kwargs.get("ignore_queue"))
        if (
            callback is not None
            or not isinstance(room, str)
            or " " in room
            or not (skip_sid is None or isinstance(skip_sid, str))
        ):
            # Broadcasts, acks across replicas, several skipped sockets: the library's way.
            await super().emit(
                event, data, namespace=namespace, room=room, skip_sid=skip_sid,
                callback=callback, **kwargs,
            )  # fmt: skip
            return
        recipients = self._recipients(namespace, room, skip_sid)
        own_socket = self.is_sid_room(namespace, room)
        if not recipients and (local_only or own_socket):
            return  # nobody to tell: nothing to encode
        args = list(data) if isinstance(data, tuple) else [data]
        encoded = self.server.packet_class(
            packet.EVENT, namespace=namespace, data=[event, *args]
        ).encode()
        if isinstance(encoded, list):  # binary attachments: the library's way
            await super().emit(event, data, namespace=namespace, room=room, skip_sid=skip_sid)
            return
        await self._send(recipients, encoded)
        if local_only or own_socket:
            return
        assert self._redis is not None, "bind() the manager before serving"
        body = f"{EMIT_HEADER} {self.host_id} {namespace} {room} {skip_sid or NO_SKIP}\n{encoded}"
        # Retries on connection errors are the client's (redis-py Retry); if Redis stays down,
        # the error reaches the event handler, which answers the client with an error ack.
        via_room = kwargs.get("via_room")
        if isinstance(via_room, str):
            await self._redis.spublish(keys.room_channel(via_room), body)
        elif self._is_room(namespace, room):
            await self._redis.spublish(keys.room_channel(room), body)
        else:
            # A socket on another replica: the shared channel, where every replica looks for it.
            await self._redis.publish(self.channel, body)

    def broadcast(self, room: str, event: str, skip_sid: str | None) -> Broadcast:
        """The room event ``event`` as a store script publishes it (with the payload JSON
        between head and tail), for the replicas with clients in the room; the caller delivers
        to this replica's own clients (``emit(..., ignore_queue=True)``)."""
        namespace = "/"
        if (template := self._templates.get(event)) is None:
            encoded = self.server.packet_class(
                packet.EVENT, namespace=namespace, data=[event, _SLOT]
            ).encode()
            template = self._templates[event] = tuple(
                encoded.split(self.server.packet_class.json.dumps(_SLOT), 1)
            )
        head, tail = template
        header = f"{EMIT_HEADER} {self.host_id} {namespace} {room} {skip_sid or NO_SKIP}\n"
        return Broadcast(keys.room_channel(room), header + head, tail)

    def _is_room(self, namespace: str, room: str) -> bool:
        if room in self.rooms.get(namespace, {}):
            return True  # sockets of ours are handled by the caller
        # A room none of our clients is in (the reaper, the tutor, the REST API) or a socket on
        # another replica: room ids are UUIDs (app/store/rooms.py), Socket.IO's sids are not.
        try:
            uuid.UUID(room)
        except ValueError:
            return False
        return True

    async def _publish(self, data: Any) -> None:
        assert self._redis is not None, "bind() the manager before serving"
        await self._redis.publish(self.channel, json.dumps(data, separators=(",", ":")))

    def _recipients(self, namespace: str, room: str, skip_sid: str | None) -> list[str]:
        """The Engine.IO sids of this replica's sockets in ``room``, but ``skip_sid``'s."""
        members = self.rooms.get(namespace, {}).get(room)
        if not members:
            return []
        return [eio_sid for sid, eio_sid in members.items() if sid != skip_sid]

    async def _send(self, eio_sids: list[str], encoded: str) -> None:
        if not eio_sids:
            return
        frame = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        for eio_sid in eio_sids:
            await self.server._send_eio_packet(eio_sid, frame)

    async def _receive_emit(self, raw: str) -> str | None:
        """Delivers a room event to our sockets; returns the JSON of an event in the previous
        release's format (its header has no skipped sid and its body is the library's JSON
        message) for the library to handle, so that a rolling upgrade keeps it delivered."""
        header, _, body = raw.partition("\n")
        fields = header.split(" ", 4)
        if len(fields) != 5:
            return body
        _, host_id, namespace, room, skip = fields
        if host_id != self.host_id:  # ours were delivered locally when they were emitted
            await self._send(
                self._recipients(namespace, room, None if skip == NO_SKIP else skip), body
            )
            if self.observers and body.startswith(OBSERVED):
                self._observe(body, room)
        return None

    def _observe(self, body: str, room: str) -> None:
        """Decode an observed event (only those: the rest stay encoded) for the observers."""
        try:
            event, payload = json.loads(body[1:])[:2]
        except (ValueError, TypeError):
            return
        for observer in self.observers:
            observer(event, payload, room)

    # -- listening -------------------------------------------------------------------------

    async def _listen(self) -> AsyncIterator[str]:
        assert self._pubsub_redis is not None, "bind() the manager before serving"
        backoff = 0.1
        while True:
            pubsub = self._pubsub_redis.pubsub()
            try:
                await self._subscribe_all(pubsub)
                if backoff > 0.1:
                    log.info("pub/sub re-subscribed (%d room channels)", len(self._wanted))
                backoff = 0.1
                received = 0
                while True:
                    message = await pubsub.get_message(timeout=LISTEN_POLL_SECONDS)
                    if message is None:
                        continue
                    kind, data = message["type"], message["data"]
                    if kind == "smessage" or kind == "message":
                        if data.startswith(EMIT_HEADER):
                            data = await self._receive_emit(data)
                        if data is not None:
                            yield data  # the library's other methods, JSON
                        received += 1
                        if received % YIELD_EVERY == 0:
                            await asyncio.sleep(0)
                    elif kind == "ssubscribe":
                        self._on_room_subscribed(message["channel"])
                    elif kind == "subscribe":
                        # Sent last: every room subscription before it is confirmed too.
                        self.subscribed.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: resubscribe; the loop must never die
                self.subscribed.clear()
                log.warning("pub/sub connection lost (%s); retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            finally:
                self._pubsub = None
                try:
                    await pubsub.aclose()
                except Exception:
                    pass

    async def _subscribe_all(self, pubsub: Any) -> None:
        """Subscribe a fresh connection to every wanted room channel, then the shared one."""
        self._sent, self._confirmed = {}, {}
        for channel, waiting in self._waiters.items():
            self._waiters[channel] = [(1, future) for _, future in waiting]
        sent: set[str] = set()
        # Rooms joined while we wait for Redis are picked up by the next turn of this loop.
        while new := self._wanted - sent:
            for channel in new:
                self._sent[channel] = 1
            await pubsub.ssubscribe(*new)
            sent |= new
        await pubsub.subscribe(self.channel)
        self._pubsub = pubsub
