"""The benches' replica (bench/_replica.py): with ``--no-tutor`` it serves the realtime core on
Redis with no tutor and no voice, as the relay benches need. It once failed at startup when the
voice came to depend on the tutor, and the benches stopped running with no test noticing."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.clients import SocketClient
from tests.conftest import BASE_ENV
from tests.servers import RedisServer, Replica
from tests.tutor.room import open_room


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
    room = await open_room(sockets, bench_replica.url, bench_replica.url)
    assert room.friend is not None

    said = {"room_id": room.room_id, "text": "hello", "client_id": "m-1"}
    ack = await room.learner.call("message", said)

    assert ack["ok"], ack
    assert (await room.friend.next("message"))["text"] == "hello"
