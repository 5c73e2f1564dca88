"""A replica going away in the middle of a reply: killed, another replica finishes it exactly
once; stopped (SIGTERM, a rolling update), it finishes the reply itself before it exits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis

from app.store import keys
from tests.clients import SocketClient
from tests.conftest import BASE_ENV
from tests.servers import RedisServer, Replica
from tests.stubs.elevenlabs import ElevenLabsStub
from tests.stubs.openai_chat import DEFAULT_REPLY, OpenAIChatStub
from tests.tutor.conftest import tutor_env
from tests.tutor.room import TutorRoom, open_room, reply_done


@dataclass
class InFlight:
    """A reply streaming slowly, the replica running it, and the participant on the other."""

    room: TutorRoom
    asked: dict[str, Any]
    first_delta: dict[str, Any]
    running: Replica
    other: Replica
    survivor: SocketClient


@dataclass
class Pair:
    redis: RedisServer  # its own: no other test's jobs are pending in it
    replicas: dict[str, Replica]

    def running_the_reply(self) -> Replica:
        """The replica whose consumer holds the one pending reply job."""
        client = redis.Redis.from_url(self.redis.url, decode_responses=True)
        try:
            pending = client.xpending_range(keys.tutor_jobs(), keys.TUTOR_GROUP, "-", "+", 10)
        finally:
            client.close()
        assert len(pending) == 1, pending
        # A replica's consumer is its identity: HOLO_REPLICA_ID plus a per-start suffix.
        name, _pid, _start = str(pending[0]["consumer"]).rsplit("-", 2)
        return self.replicas[name]

    def jobs_left(self) -> int:
        client = redis.Redis.from_url(self.redis.url, decode_responses=True)
        try:
            return int(client.xlen(keys.tutor_jobs()))
        finally:
            client.close()

    async def reply_in_flight(
        self, sockets: Callable[..., SocketClient], chat: OpenAIChatStub, tokens_per_second: float
    ) -> InFlight:
        a, b = self.replicas.values()
        room = await open_room(sockets, a.url, b.url)
        chat.profile.tokens_per_second = tokens_per_second  # still running when we act
        asked = await room.say("Why do we add the same to both sides?", "q1")
        first = await room.learner.next("ai-delta")
        assert room.friend is not None
        await room.friend.next("ai-delta")
        running = self.running_the_reply()
        other, survivor = (a, room.learner) if running is b else (b, room.friend)
        return InFlight(room, asked, first, running, other, survivor)


@pytest.fixture
def pair(chat: OpenAIChatStub, voice: ElevenLabsStub, s3_endpoint: str) -> Iterator[Pair]:
    own = RedisServer().start()
    env = {**BASE_ENV, "HOLO_REDIS_URL": own.url, **tutor_env(chat, voice, s3_endpoint)}
    replicas: dict[str, Replica] = {}
    try:
        for name in ("pair-a", "pair-b"):
            replicas[name] = Replica(name=name, env=env).start()
        yield Pair(own, replicas)
    finally:
        for replica in replicas.values():
            replica.kill()
        own.cleanup()


async def test_killed_mid_reply_is_finished_once_by_another_replica(
    pair: Pair, chat: OpenAIChatStub, sockets: Callable[..., SocketClient]
) -> None:
    flight = await pair.reply_in_flight(sockets, chat, tokens_per_second=8)
    flight.running.kill()  # SIGKILL: no goodbye
    chat.profile.tokens_per_second = None

    events = await reply_done(flight.survivor, wait=30)
    assert events.done is not None and events.done["reply_id"] != flight.first_delta["reply_id"]
    assert events.message["text"] == DEFAULT_REPLY
    assert events.message["reply_to"] == flight.asked["id"]
    # The new attempt says which partial reply it replaces.
    assert {d["reply_to"] for d in events.deltas} == {flight.asked["id"]}

    # Exactly once: one answer stored, two model requests (the killed one and the retry), and
    # the job gone from the queue.
    flight.room.learner_api.base_url = flight.other.url
    replies = [m for m in await flight.room.messages() if m["sender"]["kind"] == "ai"]
    assert [m["reply_to"] for m in replies] == [flight.asked["id"]]
    assert len(chat.requests) == 2
    assert pair.jobs_left() == 0
    assert flight.survivor.pending("ai-done") == 0


async def test_a_stopping_replica_finishes_its_reply_first(
    pair: Pair, chat: OpenAIChatStub, sockets: Callable[..., SocketClient]
) -> None:
    flight = await pair.reply_in_flight(sockets, chat, tokens_per_second=15)
    flight.running.terminate()  # SIGTERM: drains, sends its clients elsewhere, then exits

    events = await reply_done(flight.survivor, wait=30)
    assert events.done is not None and events.done["reply_id"] == flight.first_delta["reply_id"]
    assert events.message["text"] == DEFAULT_REPLY
    assert "interrupted" not in events.message["metadata"]
    assert len(chat.requests) == 1  # finished, not taken over
    assert flight.running.proc is not None and flight.running.proc.wait(30) == 0
    assert pair.jobs_left() == 0
