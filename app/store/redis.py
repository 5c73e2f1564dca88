"""Building the one Redis client a process uses.

With ``HOLO_REDIS_URL`` unset the client is fakeredis: the same redis-py API (and Lua, through
lupa) running in process, so every repository runs the same code with or without a server.
``redis+cluster://host:port,host:port`` makes it a Redis Cluster client (``ClusterRedis``): the
repositories send no command or script that spans two slots (docs/architecture.md), so the same
code runs on one server and on a cluster.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import unquote, urlparse

import fakeredis
import hiredis
from redis import asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, ClusterPipeline, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError, NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from socketio.redis_manager import parse_redis_sentinel_url

from app.config import Settings

if TYPE_CHECKING:
    # redis-py's annotations type every reply `bytes | str` whatever decode_responses says, so
    # mypy sees the client as untyped (pyproject's override); replies are converted or
    # validated where the store hands them on.
    Redis: TypeAlias = Any
else:
    Redis = aioredis.Redis

# Redis errors that mean "the store is unreachable now" rather than "this command is wrong".
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ConnectionError,
    OSError,
)


CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
PIPELINES = 2  # pipelines in flight at once per cluster client (ScriptBatcher's and one more)


def is_cluster_url(url: str | None) -> bool:
    return url is not None and urlparse(url).scheme in CLUSTER_SCHEMES


class ClusterRedis(RedisCluster):  # type: ignore[misc]
    """A cluster client whose commands queue for a connection instead of failing: redis-py's
    cluster pool raises ``MaxConnectionsError`` when a node's connections are all busy, where
    the single-server client's blocking pool waits. At most ``max_connections`` commands and
    ``PIPELINES`` pipelines are in flight at once, so a node never sees more connections from
    this client than that. (Two semaphores: a pipeline re-sends a redirected command through
    ``execute_command``, which must not wait for the pipeline's own slot.)"""

    def __init__(self, *args: Any, max_connections: int, **kwargs: Any) -> None:
        super().__init__(*args, max_connections=max_connections + PIPELINES, **kwargs)
        self._in_flight = asyncio.Semaphore(max_connections)
        self.pipelines_in_flight = asyncio.Semaphore(PIPELINES)
        self._node_options = {k: v for k, v in kwargs.items() if k != "startup_nodes"}

    def node_client(self, host: str, port: int) -> aioredis.Redis:
        """A single-server client of one node, with this client's options (a subscription on
        that node: ``app/realtime/cluster_subscriber.py``)."""
        options = dict(self._node_options)
        if options.pop("ssl", False):
            options["connection_class"] = aioredis.SSLConnection
        pool = aioredis.BlockingConnectionPool(host=host, port=port, max_connections=1, **options)
        return aioredis.Redis(connection_pool=pool)

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        async with self._in_flight:
            return await super().execute_command(*args, **kwargs)

    def pipeline(self, transaction: Any = None, shard_hint: Any = None) -> ClusterPipeline:
        if shard_hint:
            raise ValueError("a cluster pipeline takes no shard hint")
        return _ScriptPipeline(self, transaction)


class _ScriptPipeline(ClusterPipeline):  # type: ignore[misc]
    """redis-py refuses EVALSHA in a cluster pipeline (its scripts may name no keys, so no
    slot); ours always name their keys, from which the pipeline routes it like any command
    (``ScriptBatcher`` pipelines the chat script)."""

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> Any:
        return self.execute_command("EVALSHA", sha, numkeys, *keys_and_args)

    async def execute(self, raise_on_error: bool = True, allow_redirections: bool = True) -> Any:
        async with self.cluster_client.pipelines_in_flight:
            return await super().execute(raise_on_error, allow_redirections)


def _cluster_nodes(url: str) -> tuple[list[ClusterNode], dict[str, Any]]:
    """``redis+cluster://[user:password@]host:port[,host:port...]``: the startup nodes (any
    few; the client discovers the rest) and the credentials and TLS switch."""
    parsed = urlparse(url)
    userinfo, _, hosts = parsed.netloc.rpartition("@")
    nodes = []
    for address in hosts.split(","):
        host, _, port = address.strip().rpartition(":")
        nodes.append(ClusterNode(host.strip("[]") or "127.0.0.1", int(port or 6379)))
    options: dict[str, Any] = {"ssl": parsed.scheme.startswith("rediss")}
    if userinfo:
        user, _, password = userinfo.partition(":")
        options["username"] = unquote(user) or None
        options["password"] = unquote(password) or None
    return nodes, options


def _cluster_client(settings: Settings, options: dict[str, Any], max_connections: int) -> Redis:
    assert settings.redis_url is not None
    nodes, extra = _cluster_nodes(settings.redis_url)
    return ClusterRedis(
        startup_nodes=nodes, max_connections=max_connections, **{**options, **extra}
    )


async def get_many(redis: Redis, names: list[str]) -> list[Any]:
    """``MGET`` of keys that may live on different slots: one MGET per slot on a cluster (not
    atomic across slots; every caller reads independent records)."""
    if isinstance(redis, RedisCluster):
        return list(await redis.mget_nonatomic(names))
    return list(await redis.mget(names))


def blocking_read_seconds(settings: Settings) -> float:
    """How long a worker's blocking stream read (``XREAD``/``XREADGROUP ... BLOCK``) waits
    before it asks again: what an idle replica's workers cost is one round trip per read per
    this many seconds.

    On a server, most of the command socket's timeout: a read still blocked when the timeout
    runs out would be taken for a dead connection. On the embedded store one second, because
    its blocking read ignores cancellation and shutdown waits for it."""
    if settings.redis_url is None:
        return 1.0
    return settings.redis_socket_timeout * 0.8


def raise_if_cancelled() -> None:
    """Raise the cancellation a blocking read swallowed: the embedded store's blocking read,
    cancelled as data arrives, returns normally, and a loop around it would go on after its
    task was cancelled (``Task.cancelling`` still counts the request)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _retry() -> Retry:
    # A few quick retries cover a failover or a restart blip; anything longer fails the request
    # fast (503) instead of hanging it.
    return Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=3)


def _common_options(settings: Settings, client_name: str) -> dict[str, Any]:
    return {
        # Named connections: `CLIENT LIST` shows which replica holds how many.
        "client_name": client_name,
        "decode_responses": True,
        "socket_timeout": settings.redis_socket_timeout,
        "socket_connect_timeout": settings.redis_socket_timeout,
        "socket_keepalive": True,
        "health_check_interval": 15,
        "retry": _retry(),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
    }


def create_redis(
    settings: Settings, client_name: str = "holo", max_connections: int | None = None
) -> Redis:
    """The process's command client: a bounded, blocking pool (callers queue rather than open
    connection after connection under a burst)."""
    if settings.redis_url is None:
        # Bounded and blocking like the real pool: redis-py's default pool refuses the 101st
        # concurrent command instead of queueing it.
        return fakeredis.FakeAsyncRedis(
            decode_responses=True,
            connection_pool_class=aioredis.BlockingConnectionPool,
            max_connections=max_connections or settings.redis_max_connections,
        )
    options = _common_options(settings, client_name)
    if is_cluster_url(settings.redis_url):
        return _cluster_client(settings, options, max_connections or settings.redis_max_connections)
    if urlparse(settings.redis_url).scheme == "redis+sentinel":
        sentinels, service, kwargs = parse_redis_sentinel_url(settings.redis_url)
        sentinel = aioredis.Sentinel(sentinels, **{**options, **kwargs})
        return sentinel.master_for(service or "mymaster", redis_class=aioredis.Redis)
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=max_connections or settings.redis_max_connections,
        timeout=settings.redis_socket_timeout,
        **options,
    )
    return aioredis.Redis(connection_pool=pool)


def create_pubsub_redis(settings: Settings, client_name: str = "holo") -> Redis:
    """A separate client for the Socket.IO subscription: no socket timeout (an idle channel is
    not an error), TCP keepalive and periodic health checks to notice a dead server."""
    assert settings.redis_url is not None
    options = {
        **_common_options(settings, f"{client_name}:pubsub"),
        "socket_timeout": None,
        "health_check_interval": 10,
    }
    if is_cluster_url(settings.redis_url):
        # Its nodes' clients hold the subscriptions (one connection per node with a channel).
        return _cluster_client(settings, options, 2)
    if urlparse(settings.redis_url).scheme == "redis+sentinel":
        sentinels, service, kwargs = parse_redis_sentinel_url(settings.redis_url)
        sentinel = aioredis.Sentinel(sentinels, **{**options, **kwargs})
        return sentinel.master_for(service or "mymaster", redis_class=aioredis.Redis)
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.redis_url, max_connections=2, **options
    )
    return aioredis.Redis(connection_pool=pool)


@asynccontextmanager
async def redis_client(
    settings: Settings, client_name: str = "holo", max_connections: int | None = None
) -> AsyncIterator[Redis]:
    """``create_redis`` for the length of a ``with`` block: its pool is closed on the way out."""
    client = create_redis(settings, client_name, max_connections)
    try:
        yield client
    finally:
        await client.aclose()


@asynccontextmanager
async def pubsub_redis_client(
    settings: Settings, client_name: str = "holo"
) -> AsyncIterator[Redis]:
    """``create_pubsub_redis`` for the length of a ``with`` block."""
    client = create_pubsub_redis(settings, client_name)
    try:
        yield client
    finally:
        await client.aclose()


class ScriptBatcher:
    """Auto-pipelining for one hot Lua script: the calls made while a batch is on the wire go
    out together as the next batch, on one connection (ioredis's ``enableAutoPipelining``).

    A hundred concurrent chat messages then cost a few writes and one pooled connection instead
    of a hundred round trips over as many connections: the replica's Redis connections stay
    bounded with no queue in front of a small pool, and it spends less CPU per command. Each
    call still gets its own result or error.

    A batch is written and read on the connection directly rather than through a redis-py
    pipeline: each call's ``EVALSHA`` is packed once, as it is queued (hiredis's packer, in C),
    a batch is one write of the packed calls, and its replies are read under one timeout (the
    pipeline's command stack, packing and per-reply timeouts were ~8 % of a saturated replica's
    samples). Connection errors are retried like redis-py's (the client's ``Retry``: the whole
    batch again, as its pipeline did). A client with no single connection pool (a cluster
    client) still gets pipelines: they send each call to the node of its slot."""

    def __init__(self, redis: Redis, script: str) -> None:
        self._redis = redis
        self._script = redis.register_script(script)
        self._queue: list[_Call] = []
        self._sender: asyncio.Task[None] | None = None

    async def __call__(self, keys: list[Any], args: list[Any]) -> Any:
        try:
            packed = hiredis.pack_command(("EVALSHA", self._script.sha, len(keys), *keys, *args))
        except TypeError as exc:  # what redis-py raises for an argument it cannot send
            raise DataError(str(exc)) from None
        call = _Call(keys, args, packed, asyncio.get_running_loop().create_future())
        self._queue.append(call)
        if self._sender is None:
            self._sender = asyncio.create_task(self._send_all(), name="redis-batch")
        return await call.future

    async def _send_all(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                await self._send(batch)
        finally:
            self._sender = None

    async def _send(self, batch: list[_Call]) -> None:
        try:
            results = await self._exchange(batch)
            if any(isinstance(r, NoScriptError) for r in results):  # after a Redis restart
                results = [
                    await self._call_alone(call) if isinstance(r, NoScriptError) else r
                    for r, call in zip(results, batch, strict=True)
                ]
        except Exception as exc:  # the whole batch failed (connection): every caller hears it
            for call in batch:
                if not call.future.done():
                    call.future.set_exception(exc)
            return
        for result, call in zip(results, batch, strict=True):
            if call.future.done():
                continue  # the caller was cancelled
            if isinstance(result, Exception):
                call.future.set_exception(result)
            else:
                call.future.set_result(result)

    async def _call_alone(self, call: _Call) -> Any:
        """The call through redis-py's script object, which loads the script if Redis lacks it;
        its Redis error is its reply, as in a batch."""
        try:
            return await self._script(keys=call.keys, args=call.args)
        except ResponseError as exc:
            return exc

    async def _exchange(self, batch: list[_Call]) -> list[Any]:
        """The replies to the batch's calls, in order; a call's Redis error is its reply."""
        pool = getattr(self._redis, "connection_pool", None)
        if pool is None:  # a cluster client: its pipeline sends each call to its slot's node
            return await self._through_pipeline(batch)
        conn = await pool.get_connection()
        packed = b"".join(call.packed for call in batch)

        async def once() -> list[Any]:
            await conn.send_packed_command(packed)
            replies: list[Any] = []
            # One timeout for the batch's replies (redis-py sets one per reply): a batch that
            # takes longer than the socket timeout is a stalled server all the same.
            try:
                async with asyncio.timeout(conn.socket_timeout):
                    for _ in batch:
                        try:
                            replies.append(await conn.read_response(timeout=math.inf))
                        except ResponseError as exc:
                            replies.append(exc)
            except TimeoutError:
                await conn.disconnect(nowait=True)
                raise RedisTimeoutError("Timeout reading a batch of script replies") from None
            return replies

        async def failed(_: Exception) -> None:
            await conn.disconnect()

        try:
            replies: list[Any] = await conn.retry.call_with_retry(once, failed)
            return replies
        finally:
            await pool.release(conn)

    async def _through_pipeline(self, batch: list[_Call]) -> list[Any]:
        pipe = self._redis.pipeline(transaction=False)
        for call in batch:
            # EVALSHA, not the Script object: a pipeline with scripts checks SCRIPT EXISTS
            # first, a round trip per batch.
            pipe.evalsha(self._script.sha, len(call.keys), *call.keys, *call.args)
        return list(await pipe.execute(raise_on_error=False))


@dataclass(frozen=True, slots=True)
class _Call:
    keys: list[Any]
    args: list[Any]
    packed: bytes  # the call's EVALSHA, as it goes on the wire
    future: asyncio.Future[Any]
