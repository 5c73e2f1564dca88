"""A replica going away in the middle of a reply: killed, another replica finishes it exactly
once; stopped (SIGTERM, a rolling update), it finishes the reply itself before it exits."""

from __future__ import annotations

from collections.abc import Callable

import redis

from app.store import keys
from tests.clients import SocketClient
from tests.conftest import BASE_ENV
from tests.servers import RedisServer, Replica
from tests.stubs.elevenlabs import ElevenLabsStub
from tests.stubs.openai_chat import DEFAULT_REPLY, OpenAIChatStub
from tests.tutor.conftest import tutor_env
from tests.tutor.room import open_room, reply_done


def replica_running_the_reply(redis_url: str) -> str:
    """The consumer holding the one pending reply job."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        pending = client.xpending_range(keys.tutor_jobs(), keys.TUTOR_GROUP, "-", "+", 10)
    finally:
        client.close()
    assert len(pending) == 1, pending
    return str(pending[0]["consumer"])


async def test_killed_mid_reply_is_finished_once_by_another_replica(
    redis_server: RedisServer,
    chat: OpenAIChatStub,
    voice: ElevenLabsStub,
    s3_endpoint: str,
    sockets: Callable[..., SocketClient],
) -> None:
    # A Redis of its own: no other test's jobs are pending in it.
    own = RedisServer().start()
    env = {**BASE_ENV, "HOLO_REDIS_URL": own.url, **tutor_env(chat, voice, s3_endpoint)}
    replicas = {name: Replica(name=name, env=env).start() for name in ("takeover-a", "takeover-b")}
    try:
        a, b = replicas.values()
        room = await open_room(sockets, a.url, b.url)
        chat.profile.tokens_per_second = 8  # seconds long: it is still running when we kill
        asked = await room.say("Why is the sky blue?", "q1")
        first = await room.friend.next("ai-delta")  # type: ignore[union-attr]
        await room.learner.next("ai-delta")

        doomed = replicas[replica_running_the_reply(own.url)]
        doomed.kill()  # SIGKILL: no goodbye
        chat.profile.tokens_per_second = None
        survivor = room.learner if doomed is b else room.friend
        assert survivor is not None

        events = await reply_done(survivor, wait=30)
        assert events.done is not None and events.done["reply_id"] != first["reply_id"]
        assert events.message["text"] == DEFAULT_REPLY
        assert events.message["reply_to"] == asked["id"]
        # The new attempt says which partial reply it replaces.
        assert {d["reply_to"] for d in events.deltas} == {asked["id"]}

        # Exactly once: one answer stored, two model requests (the killed one and the retry),
        # and the job is gone from the queue.
        alive = a if doomed is b else b
        room.learner_api.base_url = alive.url
        replies = [m for m in await room.messages() if m["sender"]["kind"] == "ai"]
        assert [m["reply_to"] for m in replies] == [asked["id"]]
        assert len(chat.requests) == 2
        client = redis.Redis.from_url(own.url, decode_responses=True)
        assert client.xlen(keys.tutor_jobs()) == 0
        client.close()
        assert survivor.pending("ai-done") == 0
    finally:
        for replica in replicas.values():
            replica.kill()
        own.cleanup()


async def test_a_stopping_replica_finishes_its_reply_first(
    redis_server: RedisServer,
    chat: OpenAIChatStub,
    voice: ElevenLabsStub,
    s3_endpoint: str,
    sockets: Callable[..., SocketClient],
) -> None:
    own = RedisServer().start()
    env = {**BASE_ENV, "HOLO_REDIS_URL": own.url, **tutor_env(chat, voice, s3_endpoint)}
    replicas = {name: Replica(name=name, env=env).start() for name in ("drain-a", "drain-b")}
    try:
        a, b = replicas.values()
        room = await open_room(sockets, a.url, b.url)
        chat.profile.tokens_per_second = 15
        asked = await room.say("Why do we add the same to both sides?", "q1")
        first = await room.learner.next("ai-delta")
        await room.friend.next("ai-delta")  # type: ignore[union-attr]

        stopping = replicas[replica_running_the_reply(own.url)]
        stopping.terminate()  # SIGTERM: drains, sends its clients elsewhere, then exits
        survivor = room.learner if stopping is b else room.friend
        assert survivor is not None

        events = await reply_done(survivor, wait=30)
        assert events.done is not None and events.done["reply_id"] == first["reply_id"]
        assert events.message["text"] == DEFAULT_REPLY and events.message["reply_to"] == asked["id"]
        assert "interrupted" not in events.message["metadata"]
        assert len(chat.requests) == 1  # finished, not taken over
        assert stopping.proc is not None and stopping.proc.wait(30) == 0
    finally:
        for replica in replicas.values():
            replica.kill()
        own.cleanup()
