"""The subscription connection read straight off its socket (app/realtime/subscriber.py), on a
real redis-server: confirmations, delivery in order, resubscribing, and the health check."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from redis import asyncio as aioredis

from app.config import Settings
from app.realtime.subscriber import Subscriber
from app.store.redis import create_pubsub_redis
from tests.servers import RedisServer

SHARED = "test:shared"
ROOM = "test:room:{r1}:events"


class Inbox:
    """What the subscriber delivered, and a way to wait for the n-th message."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self._changed = asyncio.Event()

    def __call__(self, data: str) -> None:
        self.messages.append(data)
        self._changed.set()

    async def wait_for(self, count: int) -> list[str]:
        while len(self.messages) < count:
            self._changed.clear()
            await asyncio.wait_for(self._changed.wait(), 10)
        return self.messages


@asynccontextmanager
async def running(
    client: Any, inbox: Callable[[str], None], on_moved: Callable[[str], None] | None = None
) -> AsyncIterator[tuple[Subscriber, aioredis.Redis]]:
    """A ready subscriber on ``client``, and a plain client of the same server."""
    subscriber = Subscriber(client, SHARED, inbox, confirm_timeout=5, on_moved=on_moved)
    task = asyncio.create_task(subscriber.run())
    admin = aioredis.Redis(port=client.connection_pool.connection_kwargs["port"])
    try:
        await asyncio.wait_for(subscriber.ready.wait(), 10)
        yield subscriber, admin
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.aclose()
        await admin.aclose()


def pubsub_client(server: RedisServer, name: str) -> Any:
    return create_pubsub_redis(Settings(redis_url=server.url), name)


async def until(predicate: Callable[[], Awaitable[bool]], what: str) -> None:
    """Polls for a state no event announces (Redis's view of a connection)."""
    try:
        async with asyncio.timeout(10):
            while not await predicate():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def lost_then_ready(
    subscriber: Subscriber, what: str, then: Callable[[], object] = lambda: None
) -> None:
    """Waits for the subscriber to notice its connection is gone, calls ``then``, and waits for
    it to be subscribed again."""

    async def lost() -> bool:
        return not subscriber.ready.is_set()

    await until(lost, what)
    then()
    await asyncio.wait_for(subscriber.ready.wait(), 10)


async def test_subscribing_is_confirmed_and_messages_arrive_in_order(
    redis_server: RedisServer,
) -> None:
    inbox = Inbox()
    async with running(pubsub_client(redis_server, "subtest"), inbox) as (subscriber, admin):
        await subscriber.subscribe(ROOM)
        # Confirmed means Redis has it: a message published now reaches us.
        assert (await admin.execute_command("PUBSUB", "SHARDNUMSUB", ROOM))[1] == 1
        for n in range(200):
            await admin.spublish(ROOM, f"m{n}")
        await admin.publish(SHARED, "shared")
        assert await inbox.wait_for(201) == [*(f"m{n}" for n in range(200)), "shared"]

        subscriber.unsubscribe(ROOM)

        async def unsubscribed() -> bool:
            return bool((await admin.execute_command("PUBSUB", "SHARDNUMSUB", ROOM))[1] == 0)

        await until(unsubscribed, "the room channel to be left")
        # Joined again (a room comes back to this replica): confirmed and delivered again.
        await subscriber.subscribe(ROOM)
        await admin.spublish(ROOM, "again")
        assert (await inbox.wait_for(202))[-1] == "again"


async def test_leaving_a_room_and_joining_it_again_is_not_taken_for_a_move(
    redis_server: RedisServer,
) -> None:
    # On a cluster, Redis unsubscribing a channel by itself means its slot moved (the cluster
    # subscription then looks for its new node); the answer to our own SUNSUBSCRIBE must not
    # count as that, even when it arrives after the room was joined again.
    inbox = Inbox()
    moved: list[str] = []
    client = pubsub_client(redis_server, "subtest")
    async with running(client, inbox, moved.append) as (subscriber, admin):
        await subscriber.subscribe(ROOM)
        subscriber.unsubscribe(ROOM)
        await subscriber.subscribe(ROOM)
        await admin.spublish(ROOM, "still here")
        assert await inbox.wait_for(1) == ["still here"]
        assert moved == []


async def test_a_killed_connection_is_subscribed_again_before_it_is_ready(
    redis_server: RedisServer,
) -> None:
    inbox = Inbox()
    async with running(pubsub_client(redis_server, "subkill"), inbox) as (subscriber, admin):
        await subscriber.subscribe(ROOM)
        # Only ours: the session's server has the other tests' replicas on it.
        ours = [c for c in await admin.client_list() if c["name"] == "subkill:pubsub"]
        assert await admin.client_kill_filter(_id=ours[0]["id"]) == 1
        await lost_then_ready(subscriber, "the lost connection to be noticed")
        # Ready again means the room channel is subscribed again too.
        await admin.spublish(ROOM, "after")
        assert await inbox.wait_for(1) == ["after"]


async def test_a_server_that_stops_answering_is_left_and_rejoined() -> None:
    # SIGSTOP: the socket stays open but nothing comes back; only the PING notices.
    server = RedisServer().start()
    assert server.proc is not None
    inbox = Inbox()
    client = aioredis.Redis(port=server.port, health_check_interval=0.5, decode_responses=True)
    try:
        async with running(client, inbox) as (subscriber, admin):
            await subscriber.subscribe(ROOM)
            server.proc.send_signal(signal.SIGSTOP)
            await lost_then_ready(
                subscriber, "the silent server to be noticed", then=resume(server)
            )
            await admin.spublish(ROOM, "back")
            assert await inbox.wait_for(1) == ["back"]
    finally:
        resume(server)()
        server.cleanup()


async def test_an_idle_connection_that_answers_its_pings_is_kept() -> None:
    # A quiet replica (no traffic for a few health-check intervals) keeps its connection:
    # dropping it would clear readiness and lose what is published while it resubscribes.
    server = RedisServer().start()
    inbox = Inbox()
    client = aioredis.Redis(port=server.port, health_check_interval=0.2, decode_responses=True)
    try:
        async with running(client, inbox) as (subscriber, admin):
            await subscriber.subscribe(ROOM)
            first = await _connection_id(admin)

            async def pinged_often() -> bool:
                stats = await admin.info("commandstats")
                return int(stats.get("cmdstat_ping", {}).get("calls", 0)) >= 6

            await until(pinged_often, "the idle connection to be checked six times")
            assert await _connection_id(admin) == first
            assert subscriber.ready.is_set()
            await admin.spublish(ROOM, "still here")
            assert await inbox.wait_for(1) == ["still here"]
    finally:
        server.cleanup()


async def _connection_id(admin: aioredis.Redis) -> int:
    ids = [int(c["id"]) for c in await admin.client_list() if c.get("flags") == "P"]
    assert len(ids) == 1
    return ids[0]


def resume(server: RedisServer) -> Callable[[], None]:
    def cont() -> None:
        if server.proc is not None:
            server.proc.send_signal(signal.SIGCONT)

    return cont
