"""The subscription connection read straight off its socket (app/realtime/subscriber.py), on a
real redis-server: confirmations, delivery in order, resubscribing, and the health check."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Callable
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
async def running(client: Any, inbox: Callable[[str], None]) -> AsyncIterator[Subscriber]:
    subscriber = Subscriber(client, SHARED, inbox, confirm_timeout=5)
    task = asyncio.create_task(subscriber.run())
    try:
        await asyncio.wait_for(subscriber.ready.wait(), 10)
        yield subscriber
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.aclose()


async def until(predicate: Callable[[], Any], what: str) -> None:
    """Polls for a state no event announces (Redis's view of a connection)."""
    async with asyncio.timeout(10):
        while not await predicate():
            await asyncio.sleep(0.05)


async def test_subscribing_is_confirmed_and_messages_arrive_in_order(
    redis_server: RedisServer,
) -> None:
    inbox = Inbox()
    client = create_pubsub_redis(Settings(redis_url=redis_server.url), "subtest")
    admin = aioredis.Redis(port=redis_server.port)
    async with running(client, inbox) as subscriber, admin:
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


async def test_a_killed_connection_is_subscribed_again_before_it_is_ready(
    redis_server: RedisServer,
) -> None:
    inbox = Inbox()
    client = create_pubsub_redis(Settings(redis_url=redis_server.url), "subkill")
    admin = aioredis.Redis(port=redis_server.port)
    async with running(client, inbox) as subscriber, admin:
        await subscriber.subscribe(ROOM)
        assert await admin.client_kill_filter(_type="pubsub", skipme=True) >= 1

        async def not_ready() -> bool:
            return not subscriber.ready.is_set()

        await until(not_ready, "the lost connection to be noticed")
        await asyncio.wait_for(subscriber.ready.wait(), 10)
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
        async with running(client, inbox) as subscriber:
            await subscriber.subscribe(ROOM)
            server.proc.send_signal(signal.SIGSTOP)

            async def not_ready() -> bool:
                return not subscriber.ready.is_set()

            await until(not_ready, "the silent server to be noticed")
            server.proc.send_signal(signal.SIGCONT)
            await asyncio.wait_for(subscriber.ready.wait(), 10)
            async with aioredis.Redis(port=server.port) as admin:
                await admin.spublish(ROOM, "back")
            assert await inbox.wait_for(1) == ["back"]
    finally:
        server.proc.send_signal(signal.SIGCONT)
        server.cleanup()
