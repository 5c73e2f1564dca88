"""SIGTERM: readiness turns 503, clients are told to reconnect, the process exits in time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from tests.clients import Api, SocketClient
from tests.conftest import ReplicaFactory
from tests.servers import RedisServer


async def test_sigterm_drains_then_exits(
    redis_server: RedisServer, start_replica: ReplicaFactory, sockets: Callable[..., SocketClient]
) -> None:
    going = start_replica(
        "drain-a", redis_server.url, drain_seconds="3", shutdown_grace_seconds="8"
    )
    staying = start_replica("drain-b", redis_server.url)
    learner = await Api.guest(going.url, "Ann")
    ann = await sockets(going.url, learner.token).connect()

    going.terminate()
    async with httpx.AsyncClient() as http:

        async def readiness() -> int:
            return (await http.get(f"{going.url}/readyz")).status_code

        while await readiness() == 200:
            await asyncio.sleep(0.05)
        r = await http.get(f"{going.url}/readyz")
        assert r.status_code == 503 and r.json()["error"]["code"] == "draining"
        assert (await http.get(f"{staying.url}/readyz")).status_code == 200

    notice = await ann.next("notice", timeout=10)
    assert notice["code"] == "server_restarting"
    await ann.next("disconnect", timeout=10)
    assert going.proc is not None
    assert await asyncio.to_thread(going.proc.wait, 10) == 0
