"""`redis+sentinel://`: replicas find the master through a real Redis Sentinel and share rooms."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.clients import Api, SocketClient
from tests.conftest import ReplicaFactory
from tests.servers import RedisServer, free_port, port_open, wait_until


@pytest.fixture
def sentinel_url() -> Iterator[str]:
    master = RedisServer().start()
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="holo-sentinel-"))
    conf = workdir / "sentinel.conf"
    # Sentinel rewrites its config file, so it gets a writable one of its own.
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {workdir}\n"
        f"sentinel monitor holo-master 127.0.0.1 {master.port} 1\n"
    )
    proc = subprocess.Popen(
        ["redis-server", str(conf), "--sentinel"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: port_open(port), 10, f"redis sentinel on {port}")
        yield f"redis+sentinel://127.0.0.1:{port}/0/holo-master"
    finally:
        proc.terminate()
        proc.wait(10)
        master.cleanup()


async def test_replicas_share_a_room_through_sentinel(
    sentinel_url: str, start_replica: ReplicaFactory, sockets: Callable[..., SocketClient]
) -> None:
    a = start_replica("sentinel-a", sentinel_url)
    b = start_replica("sentinel-b", sentinel_url)
    learner, friend = await Api.guest(a.url, "Ann"), await Api.guest(b.url, "Bea")
    room = await learner.create_room()
    ann = await sockets(a.url, learner.token).connect()
    bea = await sockets(b.url, friend.token).connect()
    assert (await ann.call("join", {"room_id": room["room_id"]}))["ok"]
    joined = await bea.call(
        "join", {"room_id": room["room_id"], "invite_token": room["invite_token"]}
    )
    assert joined["ok"] and [p["user_id"] for p in joined["peers"]] == [learner.user_id]
    ack = await ann.call("message", {"room_id": room["room_id"], "text": "hi", "client_id": "s1"})
    assert ack["ok"]
    assert (await bea.next("message"))["id"] == ack["message"]["id"]
