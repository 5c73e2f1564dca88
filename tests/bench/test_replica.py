"""The benches' replica (bench/_replica.py): with ``--no-tutor`` it serves the realtime core on
Redis with no tutor and no voice, as the relay benches need. It once failed at startup when the
voice came to depend on the tutor, and the benches stopped running with no test noticing."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.clients import Api, SocketClient
from tests.conftest import BASE_ENV
from tests.servers import RedisServer, Replica


@pytest.fixture
def bench_replica() -> Iterator[Replica]:
    # A Redis of its own: a replica without the tutor must not share one with tutor replicas.
    redis = RedisServer().start()
    replica = Replica(
        name="bench-no-tutor",
        env={**BASE_ENV, "HOLO_REDIS_URL": redis.url, "HOLO_TTS_PROVIDER": "none"},
        command=("-m", "bench._replica", "--no-tutor"),
    ).start()
    yield replica
    replica.kill()
    redis.cleanup()


async def test_the_bench_replica_relays_chat_without_a_tutor(
    bench_replica: Replica, sockets: Callable[..., SocketClient]
) -> None:
    assert "bench: tutor disabled" in bench_replica.log_text()
    learner = await Api.guest(bench_replica.url, "Ann")
    friend = await Api.guest(bench_replica.url, "Bea")
    room = await learner.create_room()
    ann = await sockets(bench_replica.url, learner.token).connect()
    bea = await sockets(bench_replica.url, friend.token).connect()
    assert (await ann.call("join", {"room_id": room["room_id"]}))["ok"]
    invite = {"room_id": room["room_id"], "invite_token": room["invite_token"]}
    assert (await bea.call("join", invite))["ok"]

    ack = await ann.call(
        "message", {"room_id": room["room_id"], "text": "hello", "client_id": "m-1"}
    )

    assert ack["ok"], ack
    assert (await bea.next("message"))["text"] == "hello"
    # No tutor: nothing answers, so the only message in the room is the learner's.
    assert ann.pending("message") == 0
