"""A replica's subscriptions on a Redis Cluster: one ``Subscriber`` per node that owns a channel
it wants.

A room's sharded channel lives on the node that owns its slot, and ``SSUBSCRIBE`` must be sent
to that node; the shared channel (classic pub/sub, which a cluster delivers on every node) is
subscribed on one node only, the *home* node (its name's slot), so that each of its messages
arrives once. The other nodes' subscribers subscribe to a quiet channel instead, which nobody
publishes on: its confirmation, like the shared channel's on one server, comes after every room
subscription sent before it, so each node subscriber's ``ready`` keeps its meaning, and this
replica is ready when all of them are.

Each node subscriber reconnects by itself (``Subscriber.run``). Every ``RECHECK_SECONDS`` the
slot map is read again, and a channel whose slot moved to another node (a failover promotes a
replica at another address, a resharding moves slots) is subscribed there and dropped where it
was; a node that owns nothing wanted any more is let go. A resharding or a manual failover is
noticed at once: the node that gives a slot away (or is demoted) unsubscribes its channels'
subscribers (``SUNSUBSCRIBE``, naming no new owner), and the map is read again then, and again
after a short pause while the channel still shows at its old node (the other nodes learn of the
move a moment later). Until the channel is subscribed at its new node its events do not reach
this replica: a moment after a resharding or a manual failover, up to ``RECHECK_SECONDS`` after
a node failed (it sends nothing); docs/architecture.md says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from app.realtime.subscriber import Subscriber
from app.store.redis import ClusterRedis

log = logging.getLogger(__name__)

RECHECK_SECONDS = 5.0
# After a channel was moved away, the map is read again after this pause, doubling up to
# RECHECK_SECONDS, until it shows the channel elsewhere.
MOVED_RECHECK_SECONDS = 0.05


class _Flag(asyncio.Event):
    """A node subscriber's ``ready``, which tells the cluster subscription when it changes."""

    def __init__(self, changed: Callable[[], None]) -> None:
        super().__init__()
        self._changed = changed

    def set(self) -> None:
        super().set()
        self._changed()

    def clear(self) -> None:
        super().clear()
        self._changed()


class ClusterSubscription:
    def __init__(
        self,
        cluster: ClusterRedis,
        channel: str,
        on_message: Callable[[str], None],
        *,
        confirm_timeout: float,
    ) -> None:
        self._cluster = cluster
        self._channel = channel
        self._on_message = on_message
        self._confirm_timeout = confirm_timeout
        # Set once every node subscriber is (the shared channel and every room channel wanted).
        self.ready = asyncio.Event()
        self._nodes: dict[str, tuple[Subscriber, asyncio.Task[None]]] = {}
        self._owner: dict[str, str] = {}  # wanted room channel -> the node it is subscribed on
        self._home: str | None = None
        self._pending: set[asyncio.Task[None]] = set()  # re-subscriptions after a move
        # Channels a node unsubscribed us from, until the map shows them moved.
        self._moved: set[str] = set()
        self._moved_seen = asyncio.Event()

    async def run(self) -> None:
        try:
            await self._start()
            pause = RECHECK_SECONDS
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._moved_seen.wait(), pause)
                if self._moved_seen.is_set():
                    self._moved_seen.clear()
                    pause = MOVED_RECHECK_SECONDS
                try:
                    await self._recheck()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the cluster unreachable now: try again later
                    log.warning("pub/sub: could not check the cluster's slots: %s", exc)
                pause = min(pause * 2, RECHECK_SECONDS) if self._moved else RECHECK_SECONDS
                if pause == RECHECK_SECONDS:
                    self._moved.clear()  # not moved after all (or the periodic check will see)
        finally:
            for task in self._pending:
                task.cancel()
            for _, task in self._nodes.values():
                task.cancel()
            for _, task in self._nodes.values():
                with contextlib.suppress(BaseException):
                    await task
            self._nodes.clear()

    async def subscribe(self, channel: str) -> None:
        await self._ensure_home()
        name = self._node_of(channel)
        self._owner[channel] = name
        await self._node(name).subscribe(channel)

    def unsubscribe(self, channel: str) -> None:
        name = self._owner.pop(channel, None)
        if name is not None and name in self._nodes:
            self._nodes[name][0].unsubscribe(channel)

    async def _start(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._ensure_home()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("pub/sub: cluster unreachable (%s); retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _ensure_home(self) -> None:
        if self._home is None:
            await self._cluster.initialize()  # reads the slot map
            self._home = self._node_of(self._channel)
            self._node(self._home)

    async def _recheck(self) -> None:
        # The slot map, read again: a failover or a resharding moved slots (Redis only tells
        # a moved channel's subscribers with an SUNSUBSCRIBE, which names no new owner).
        await self._cluster.nodes_manager.initialize()
        home = self._node_of(self._channel)
        if home != self._home:
            old, self._home = self._home, home
            self._replace(home)
            if old in self._nodes and old in self._owner.values():
                self._replace(old)  # a quiet one now; with nothing wanted, let go below
        for channel, name in list(self._owner.items()):
            now = self._node_of(channel)
            if now == name:
                continue
            self._moved.discard(channel)
            log.info("pub/sub: %s moved to %s", channel, now)
            if name in self._nodes:
                self._nodes[name][0].unsubscribe(channel)
            self._owner[channel] = now
            self._later(self._node(now).subscribe(channel))
        used = set(self._owner.values()) | {self._home}
        for name in [n for n in self._nodes if n not in used]:
            self._nodes.pop(name)[1].cancel()
        self._update_ready()

    def _node_of(self, channel: str) -> str:
        return str(self._cluster.get_node_from_key(channel).name)

    def _node(self, name: str) -> Subscriber:
        """The subscriber on node ``name`` (started on first use)."""
        if name not in self._nodes:
            host, _, port = name.rpartition(":")
            shared = self._channel if name == self._home else quiet_channel(self._channel)
            sub = Subscriber(
                self._cluster.node_client(host, int(port)),
                shared,
                self._on_message,
                confirm_timeout=self._confirm_timeout,
                on_moved=lambda channel: self._moved_away(channel, name),
            )
            sub.ready = _Flag(self._update_ready)
            task = asyncio.create_task(sub.run(), name=f"pubsub:{name}")
            self._nodes[name] = (sub, task)
            self._update_ready()
        return self._nodes[name][0]

    def _moved_away(self, channel: str, node: str) -> None:
        """Node ``node`` unsubscribed us from ``channel``: its slot is moving elsewhere."""
        if self._owner.get(channel) == node:
            self._moved.add(channel)
            self._moved_seen.set()

    def _replace(self, name: str) -> None:
        """A new subscriber on node ``name`` (it became, or stopped being, the home node), with
        the channels the old one held."""
        if name in self._nodes:
            self._nodes.pop(name)[1].cancel()
        sub = self._node(name)
        for channel, owner in self._owner.items():
            if owner == name:
                self._later(sub.subscribe(channel))

    def _later(self, subscribing: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(subscribing)
        self._pending.add(task)
        task.add_done_callback(self._settled)

    def _settled(self, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.warning("pub/sub: %s", exc)  # not confirmed yet: readiness says so

    def _update_ready(self) -> None:
        if self._nodes and all(sub.ready.is_set() for sub, _ in self._nodes.values()):
            self.ready.set()
        else:
            self.ready.clear()


def quiet_channel(channel: str) -> str:
    """A classic channel nobody publishes on (see the module's docstring)."""
    return f"{channel}:quiet"
