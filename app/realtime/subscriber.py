"""A replica's subscription connection to Redis pub/sub, read straight off the socket.

redis-py connects it (AUTH, TLS, a Sentinel's master, the client name: whatever the pub/sub
client's URL says), then an asyncio ``Protocol`` of ours takes the transport over: each chunk the
socket delivers is fed to a hiredis reader and every reply in it is dispatched from
``data_received``, before the next chunk is read. A published message costs no task switch, no
timeout and no retry wrapper (redis-py's ``PubSub.get_message`` had all three per message, ~10 %
of a saturated replica), and the messages of one chunk are handled in one go, in order.

What the listener guaranteed is kept: a subscription is confirmed by Redis before ``subscribe``
returns (a join reads the room's history only then); after a lost connection everything wanted
is subscribed again, with backoff, and ``ready`` stays clear until Redis has confirmed it all
(readiness waits for it); an idle connection is checked with a ``PING`` every health-check
interval of the client (the reply is read like any other), and dropped if nothing at all came
back by the next check.

``Subscription`` is the seam the manager uses: a Redis Cluster variant (one such connection per
node that owns subscribed slots) goes beside ``Subscriber``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import hiredis

from app.store.redis import Redis

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 5.0
DEFAULT_HEALTH_CHECK_SECONDS = 10.0
# One SSUBSCRIBE per this many channels when a fresh connection subscribes to every room.
SUBSCRIBE_BATCH = 1000


class Subscription(Protocol):
    """What the Socket.IO manager needs of its subscriptions (one channel shared by every
    replica, and the sharded channels of the rooms it has clients in)."""

    ready: asyncio.Event

    async def run(self) -> None:
        """Connect, subscribe and deliver, forever: reconnects by itself."""

    async def subscribe(self, channel: str) -> None:
        """Returns once Redis has confirmed the subscription to the sharded ``channel``."""

    def unsubscribe(self, channel: str) -> None: ...


class _Wire(asyncio.Protocol):
    """The subscription connection's protocol once redis-py has connected it."""

    def __init__(self, on_reply: Callable[[Any], None], previous: asyncio.BaseProtocol) -> None:
        self._reader = hiredis.Reader(encoding="utf-8", errors="replace")
        self._on_reply = on_reply
        self._previous = previous  # redis-py's stream protocol: told when the socket closes
        self.lost: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()
        self.last_read = time.monotonic()

    def data_received(self, data: bytes) -> None:
        self.last_read = time.monotonic()
        reader = self._reader
        reader.feed(data)
        try:
            while (reply := reader.gets()) is not False:
                self._on_reply(reply)
        except hiredis.ProtocolError as exc:
            self._fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._previous.connection_lost(exc)
        if not self.lost.done():
            self.lost.set_result(exc)

    def eof_received(self) -> bool | None:
        return None  # close the transport: Redis went away

    def _fail(self, exc: Exception) -> None:
        if not self.lost.done():
            self.lost.set_result(exc)


class Subscriber:
    """The subscriptions of one replica on one Redis server (or a Sentinel's master)."""

    def __init__(
        self,
        redis: Redis,
        channel: str,
        on_message: Callable[[str], None],
        *,
        confirm_timeout: float,
        on_moved: Callable[[str], None] | None = None,
    ) -> None:
        self._redis = redis
        self._channel = channel
        self._on_message = on_message
        self._confirm_timeout = confirm_timeout
        # Told of a wanted room channel Redis unsubscribed us from by itself: on a cluster, its
        # slot moved to another node (which the cluster subscription then looks up).
        self._on_moved = on_moved
        # Set once the shared channel and every room channel wanted are subscribed (readiness).
        self.ready = asyncio.Event()
        self._transport: asyncio.Transport | None = None
        self._pack: Callable[..., list[bytes]] | None = None
        # Room channels wanted, and, on the current connection, how many SSUBSCRIBEs were sent
        # and confirmed per channel (a channel left and joined again is counted twice).
        self._wanted: set[str] = set()
        self._sent: dict[str, int] = {}
        self._confirmed: dict[str, int] = {}
        self._waiters: dict[str, list[tuple[int, asyncio.Future[None]]]] = {}
        # SUNSUBSCRIBEs sent per channel on this connection and not answered yet: a reply
        # beyond them is Redis's own.
        self._leaving: dict[str, int] = {}

    # -- subscriptions ---------------------------------------------------------------------

    async def subscribe(self, channel: str) -> None:
        if channel in self._wanted and self._confirmed.get(channel, 0) >= self._sent.get(
            channel, 1
        ):
            return  # already subscribed
        self._wanted.add(channel)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._transport is None:
            # (Re)connecting: the new connection subscribes to every wanted channel, and its
            # first confirmation for this one releases us.
            self._waiters.setdefault(channel, []).append((1, future))
        else:
            n = self._sent[channel] = self._sent.get(channel, 0) + 1
            self._waiters.setdefault(channel, []).append((n, future))
            self._command("SSUBSCRIBE", channel)
        try:
            await asyncio.wait_for(future, self._confirm_timeout)
        except TimeoutError:
            raise ConnectionError(f"Redis did not confirm the subscription to {channel}") from None

    def unsubscribe(self, channel: str) -> None:
        if channel not in self._wanted:
            return
        self._wanted.discard(channel)
        if self._transport is not None:  # a new connection subscribes to wanted channels only
            self._leaving[channel] = self._leaving.get(channel, 0) + 1
            self._command("SUNSUBSCRIBE", channel)

    def _command(self, *args: str) -> None:
        assert self._transport is not None and self._pack is not None
        self._transport.writelines(self._pack(*args))

    def _subscribe_all(self) -> None:
        """A fresh connection: every wanted room channel, then the shared one (its confirmation
        comes last, so every room subscription is confirmed when it arrives)."""
        self._sent, self._confirmed, self._leaving = {}, {}, {}
        for channel, waiting in self._waiters.items():
            self._waiters[channel] = [(1, future) for _, future in waiting]
        for batch in _batches(sorted(self._wanted), SUBSCRIBE_BATCH):
            for channel in batch:
                self._sent[channel] = 1
            self._command("SSUBSCRIBE", *batch)
        self._command("SUBSCRIBE", self._channel)

    def _on_confirmed(self, channel: str) -> None:
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

    def _on_left(self, channel: str) -> None:
        leaving = self._leaving.get(channel, 0)
        if leaving > 1:
            self._leaving[channel] = leaving - 1
        elif leaving == 1:
            del self._leaving[channel]
        elif channel in self._wanted and self._on_moved is not None:
            self._on_moved(channel)  # not ours: Redis moved it away
        # Forget a channel left for good (not joined again since, every SSUBSCRIBE answered):
        # a long-lived connection sees thousands of rooms come and go.
        if channel not in self._wanted and self._confirmed.get(channel, 0) >= self._sent.get(
            channel, 0
        ):
            self._sent.pop(channel, None)
            self._confirmed.pop(channel, None)

    # -- replies ---------------------------------------------------------------------------

    def _on_reply(self, reply: Any) -> None:
        if isinstance(reply, list) and len(reply) >= 3:
            kind = reply[0]
            if kind == "smessage" or kind == "message":
                try:
                    self._on_message(reply[2])
                except Exception:  # one bad message must not take the connection down
                    log.exception("handler error for a pub/sub message")
            elif kind == "ssubscribe":
                self._on_confirmed(reply[1])
            elif kind == "sunsubscribe":
                self._on_left(reply[1])
            elif kind == "subscribe":
                self.ready.set()
        elif isinstance(reply, hiredis.ReplyError):
            log.warning("Redis refused a pub/sub command: %s", reply)
        # Anything else ("pong", the shared channel's confirmations) only shows it is alive.

    # -- the connection --------------------------------------------------------------------

    async def run(self) -> None:
        backoff = 0.1
        pool = self._redis.connection_pool
        while True:
            # A connection of our own, outside the pool's bookkeeping: nobody else uses it.
            conn = pool.make_connection()
            try:
                await conn.connect()
                wire = self._attach(conn)
                self._subscribe_all()
                if backoff > 0.1:
                    log.info("pub/sub re-subscribed (%d room channels)", len(self._wanted))
                backoff = 0.1
                interval = float(conn.health_check_interval or DEFAULT_HEALTH_CHECK_SECONDS)
                exc = await self._watch(wire, interval)
                raise ConnectionError(str(exc) if exc else "closed by the server")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: resubscribe; the loop must never die
                await self._drop(conn)
                log.warning("pub/sub connection lost (%s); retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            finally:
                await self._drop(conn)

    async def _drop(self, conn: Any) -> None:
        """Not ready any more, and the connection closed (subscribing waits for the next)."""
        self.ready.clear()
        if self._transport is not None:
            self._transport.abort()  # a stalled server would hold a graceful close
            self._transport = None
        with contextlib.suppress(Exception):
            # nowait: redis-py's stream protocol no longer owns the transport.
            await conn.disconnect(nowait=True)

    def _attach(self, conn: Any) -> _Wire:
        # redis-py has no public handle on its transport: its StreamWriter holds it.
        transport: asyncio.Transport = conn._writer.transport
        wire = _Wire(self._on_reply, transport.get_protocol())
        transport.set_protocol(wire)
        self._transport = transport
        self._pack = conn.pack_command
        return wire

    async def _watch(self, wire: _Wire, interval: float) -> Exception | None:
        """Waits for the connection to end; on an idle one, a PING every ``interval`` seconds,
        and the connection is dropped when nothing came back by the next check."""
        # When the last PING went out. Whether anything was read since then is what counts: its
        # reply comes a round trip after it, so "read within the last interval" would be false
        # at the next check whenever the timer fires a round trip late (an idle connection was
        # dropped every other interval).
        pinged_at: float | None = None
        while True:
            done, _ = await asyncio.wait([wire.lost], timeout=interval)
            if done:
                return wire.lost.result()
            if pinged_at is not None and wire.last_read < pinged_at:
                return TimeoutError(f"no reply to PING within {interval:g}s")
            if time.monotonic() - wire.last_read >= interval:
                pinged_at = time.monotonic()
                self._command("PING")
            else:
                pinged_at = None


def _batches(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
