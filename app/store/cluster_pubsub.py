"""Pub/sub on a Redis Cluster with the interface of redis-py's single-server ``PubSub``.

A room's sharded channel lives on the node that owns its slot, so a replica holds one
subscription connection per node that owns a channel it wants; ``subscribe`` (the shared,
classic channel, which a cluster delivers on every node) uses the node of its name's slot. Each
connection has a reader task; their messages meet in one queue, which ``get_message`` reads, so
the Socket.IO manager's listener is the same on one server and on a cluster. (redis-py's
``ClusterPubSub`` polls its node connections in turn, each with the caller's timeout: an idle
node would hold up a busy one.)

What the single-server connection promised is kept: a channel's messages come in order (one
channel, one connection); the shared channel's ``subscribe`` confirmation is handed on only
after every ``ssubscribe`` sent before it is confirmed (the listener takes it to mean "all
subscribed"); and any failure (a node down, a slot moved away, which Redis reports as an
``sunsubscribe`` we did not ask for) is raised by ``get_message``, so the listener starts over
on a fresh ``ClusterSubscriber`` after refreshing the cluster's slot map.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from redis import asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.cluster import key_slot

NodeClient = Callable[[str, int], Any]  # (host, port) -> a single-node redis.asyncio.Redis
POLL_SECONDS = 5.0  # each read returns this often, so the connection's health checks run


class ClusterSubscriber:
    def __init__(
        self,
        cluster: RedisCluster,
        node_client: NodeClient,
        *,
        refresh: bool,
        on_failure: Callable[[], None],
    ) -> None:
        self._cluster = cluster
        self._node_client = node_client
        self._refresh = refresh  # read the slot map again first (after a failure)
        self._on_failure = on_failure
        # node name -> its client, its PubSub, the reader, and what wakes an idle reader
        self._nodes: dict[str, tuple[Any, Any, asyncio.Task[None], asyncio.Event]] = {}
        self._owner: dict[str, str] = {}  # channel -> node name
        self._leaving: set[str] = set()  # sunsubscribes we asked for
        self._unconfirmed: dict[str, int] = {}  # ssubscribes sent, not confirmed yet
        self._held: list[dict[str, Any]] = []  # subscribe confirmations waiting for those
        self._queue: asyncio.Queue[dict[str, Any] | BaseException] = asyncio.Queue()

    async def ssubscribe(self, *channels: str) -> None:
        # One SSUBSCRIBE per slot: several slots in one is a CROSSSLOT error.
        by_slot: dict[int, list[str]] = {}
        for channel in channels:
            by_slot.setdefault(key_slot(channel.encode()), []).append(channel)
        for group in by_slot.values():
            pubsub = await self._pubsub_for(group[0])
            for channel in group:
                self._owner[channel] = self._node_name(group[0])
                self._leaving.discard(channel)
                self._unconfirmed[channel] = self._unconfirmed.get(channel, 0) + 1
            await pubsub.ssubscribe(*group)
            self._wake(group[0])

    async def sunsubscribe(self, *channels: str) -> None:
        for channel in channels:
            name = self._owner.pop(channel, None)
            if name is None or name not in self._nodes:
                continue
            self._leaving.add(channel)
            await self._nodes[name][1].sunsubscribe(channel)

    async def subscribe(self, *channels: str) -> None:
        for channel in channels:
            await (await self._pubsub_for(channel)).subscribe(channel)
            self._wake(channel)

    async def get_message(self, timeout: float | None = None) -> dict[str, Any] | None:  # noqa: ASYNC109 (PubSub's signature)
        try:
            async with asyncio.timeout(timeout):
                item = await self._queue.get()
        except TimeoutError:
            return None
        if isinstance(item, BaseException):
            raise item
        return item

    async def aclose(self) -> None:
        for client, pubsub, reader, _ in self._nodes.values():
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            with contextlib.suppress(Exception):
                await client.aclose()
        self._nodes.clear()

    def _node_name(self, channel: str) -> str:
        return str(self._cluster.get_node_from_key(channel).name)

    def _wake(self, channel: str) -> None:
        self._nodes[self._node_name(channel)][3].set()

    async def _pubsub_for(self, channel: str) -> Any:
        if self._refresh:
            self._refresh = False
            await self._cluster.nodes_manager.initialize()
        await self._cluster.initialize()  # a no-op once the slot map is known
        node = self._cluster.get_node_from_key(channel)
        if node.name not in self._nodes:
            client: aioredis.Redis = self._node_client(node.host, int(node.port))
            pubsub = client.pubsub()
            wake = asyncio.Event()
            reader = asyncio.create_task(self._read(pubsub, wake), name=f"pubsub:{node.name}")
            self._nodes[node.name] = (client, pubsub, reader, wake)
        return self._nodes[node.name][1]

    async def _read(self, pubsub: Any, wake: asyncio.Event) -> None:
        try:
            while True:
                if not pubsub.subscribed:  # nothing to read until a subscribe is sent
                    wake.clear()
                    await wake.wait()
                    continue
                message = await pubsub.get_message(timeout=POLL_SECONDS)
                if message is not None:
                    self._hand_on(message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the listener starts over with a fresh subscriber
            self._on_failure()
            self._queue.put_nowait(exc)

    def _hand_on(self, message: dict[str, Any]) -> None:
        kind, channel = message["type"], message.get("channel")
        if kind == "sunsubscribe":
            if channel in self._leaving:
                self._leaving.discard(channel)
                return
            # Redis dropped it: the slot moved to another node.
            self._on_failure()
            self._queue.put_nowait(ConnectionError(f"{channel} moved to another node"))
            return
        if kind == "ssubscribe" and isinstance(channel, str):
            left = self._unconfirmed.get(channel, 0) - 1
            if left > 0:
                self._unconfirmed[channel] = left
            else:
                self._unconfirmed.pop(channel, None)
            self._queue.put_nowait(message)
            if not self._unconfirmed:
                for held in self._held:
                    self._queue.put_nowait(held)
                self._held.clear()
            return
        if kind == "subscribe" and self._unconfirmed:
            self._held.append(message)
            return
        self._queue.put_nowait(message)
