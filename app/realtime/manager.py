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
other replicas fell seconds behind the acks (bench/realtime_relay.py). Here a room event is
written to its recipients as the subscription reads it (app/realtime/subscriber.py), with no task
switch: every socket is a ``LeanSocket`` (app/realtime/transport.py), whose
``send_message_nowait`` is synchronous and ordered. The library's own JSON messages (and room
events in the previous release's format) go to python-socketio's listener task; while any waits
there, later room events queue behind it so that they keep their order.

**Connections.** Publishing goes through the process's bounded command client (the stock
manager built a fresh, unbounded client whenever a publish failed), and the subscriptions share
one dedicated connection (``Subscriber``: no socket timeout, keepalive and health checks,
re-subscribed with backoff after Redis restarts).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, NamedTuple

from socketio import packet
from socketio.async_pubsub_manager import AsyncPubSubManager

from app.realtime.cluster_subscriber import ClusterSubscription
from app.realtime.subscriber import Subscriber, Subscription
from app.store import keys
from app.store.messages import Broadcast
from app.store.redis import ClusterRedis, Redis

log = logging.getLogger(__name__)

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
        self._subscriber: Subscription | None = None
        # Set once the shared channel and every room channel wanted are subscribed (readiness).
        self.subscribed = asyncio.Event()
        # How our own room events start: each comes back to us on the room's channel (we are
        # subscribed for our clients there), and was delivered to them when it was emitted.
        self._own = f"{EMIT_HEADER} {self.host_id} "
        # Told of every room event from another replica that this replica receives (the voice
        # sessions play the clips of replies that another replica runs).
        self.observers: list[Callable[[str, Any, str | None], None]] = []
        self._templates: dict[str, tuple[str, ...]] = {}  # event -> packet around its payload
        # Messages for the listener task (python-socketio's `_thread`): the library's JSON ones
        # and the previous release's room events. While any is waiting, later room events queue
        # behind it, so that they keep their order.
        self._inbox: asyncio.Queue[str] = asyncio.Queue()
        self._queued = 0

    def bind(self, redis: Redis, pubsub_redis: Redis, subscribe_timeout: float = 5.0) -> None:
        """Called from the lifespan, which owns both clients (and closes them)."""
        self._redis = redis
        # On a Redis Cluster, a subscriber per node that owns a wanted channel.
        kind = ClusterSubscription if isinstance(pubsub_redis, ClusterRedis) else Subscriber
        self._subscriber = kind(
            pubsub_redis, self.channel, self._on_message, confirm_timeout=subscribe_timeout
        )
        self.subscribed = self._subscriber.ready

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
        assert self._subscriber is not None, "bind() the manager before serving"
        await self._subscriber.subscribe(keys.room_channel(room))

    async def _release_rooms(self, namespace: str, rooms: list[Any]) -> None:
        for room in rooms:
            if not isinstance(room, str) or room in self.rooms.get(namespace, {}):
                continue  # another of our clients is still in it
            if self._subscriber is not None:
                self._subscriber.unsubscribe(keys.room_channel(room))

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
        self._send(recipients, encoded)
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

    def _send(self, eio_sids: list[str], encoded: str) -> None:
        """Write an encoded Socket.IO packet to these sockets of ours, now: each is a
        ``LeanSocket``, whose ``send_message_nowait`` never suspends."""
        sockets = self.server.eio.sockets
        for eio_sid in eio_sids:
            if (sock := sockets.get(eio_sid)) is not None:  # None: it has just closed
                sock.send_message_nowait(encoded)

    # -- receiving -------------------------------------------------------------------------

    def _on_message(self, raw: str) -> None:
        """Every message on our subscriptions, as it is read: a room event is written to our
        sockets at once (no task switch per message), anything else goes to the listener task."""
        if raw.startswith(self._own):
            return  # ours, back: delivered to our sockets when it was emitted
        if not self._queued and (event := _room_event(raw)) is not None:
            self._deliver(event)
        else:
            self._queued += 1
            self._inbox.put_nowait(raw)

    def _deliver(self, event: RoomEvent) -> None:
        """A room event from another replica (``_on_message`` drops ours) to our sockets."""
        self._send(self._recipients(event.namespace, event.room, event.skip), event.packet)
        if self.observers and event.packet.startswith(OBSERVED):
            self._observe(event.packet, event.room)

    def _observe(self, body: str, room: str) -> None:
        """Decode an observed event (only those: the rest stay encoded) for the observers."""
        try:
            event, payload = json.loads(body[1:])[:2]
        except (ValueError, TypeError):
            return
        for observer in self.observers:
            observer(event, payload, room)

    async def _listen(self) -> AsyncIterator[str]:
        """python-socketio's listener task: runs the subscription and hands the library its
        JSON messages (the room events went to our sockets as they were read)."""
        assert self._subscriber is not None, "bind() the manager before serving"
        runner = asyncio.create_task(self._subscriber.run(), name="pubsub")
        try:
            while True:
                raw = await self._inbox.get()
                try:
                    if (event := _room_event(raw)) is not None:  # queued behind another
                        try:
                            self._deliver(event)
                        except Exception:  # one event, not the subscription, is lost
                            log.exception("could not deliver a room event")
                    elif raw.startswith(EMIT_HEADER):
                        # The previous release's room event: its body is the library's JSON.
                        yield raw.partition("\n")[2]
                    else:
                        yield raw
                finally:
                    self._queued -= 1
        finally:
            runner.cancel()


class RoomEvent(NamedTuple):
    sender: str  # the replica's host_id
    namespace: str
    room: str
    skip: str | None
    packet: str  # the Socket.IO packet, encoded


def _room_event(raw: str) -> RoomEvent | None:
    """A room event as published (header line, packet); None for anything else: the library's
    JSON messages, and the previous release's room events (their header has no skipped sid and
    their body is the library's JSON message)."""
    if not raw.startswith(EMIT_HEADER):
        return None
    header, _, body = raw.partition("\n")
    fields = header.split(" ", 4)
    if len(fields) != 5:
        return None
    _, sender, namespace, room, skip = fields
    return RoomEvent(sender, namespace, room, None if skip == NO_SKIP else skip, body)
