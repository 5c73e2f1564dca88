"""SIGTERM: readiness turns 503, clients are told to reconnect, the process exits in time."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Callable

import httpx
import pytest

from tests.clients import Api, SocketClient
from tests.conftest import BASE_ENV, ReplicaFactory
from tests.servers import ROOT, RedisServer


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


@pytest.mark.parametrize("store", ["redis", "embedded"])
def test_a_replica_that_cannot_bind_its_port_exits_non_zero(
    redis_server: RedisServer, store: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HOLO_")},
            **BASE_ENV,
            "HOLO_PORT": str(port),
            "HOLO_SHUTDOWN_GRACE_SECONDS": "5",
        }
        if store == "redis":
            env["HOLO_REDIS_URL"] = redis_server.url
        proc = subprocess.Popen(
            [sys.executable, "-m", "app"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            # Far beyond the grace period: a replica that has not exited by then never will.
            code = proc.wait(60)
        finally:
            proc.kill()
            proc.wait()
    assert code != 0
    assert proc.stderr is not None and b"address already in use" in proc.stderr.read().lower()
