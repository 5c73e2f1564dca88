"""Queueing learner messages (in process, on the embedded store): each is queued once, however
its send is retried, and a retry never revives a message the conversation has moved past; a
replica takes every job queued, however many at once, without polling for them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from app.catalogue import Catalogue
from app.config import Settings
from app.models import Message, Sender
from app.observability.metrics import Metrics
from app.providers.llm.offline import OfflineTutorLLM
from app.providers.tts.none import NoTTS
from app.store import keys
from app.store.messages import MessageStore
from app.store.redis import Redis, create_redis
from app.store.rooms import RoomStore
from app.tutor.jobs import Control, ReplyJobs
from app.tutor.reply import ReplyConfig, ReplyDeps, reply_client_id
from app.tutor.service import Tutor
from app.tutor.usage import Budget, UsageStore
from tests.tutor.engines import MemoryStorage, NoEmitter

ANN = Sender(kind="user", user_id="ann", display_name="Ann")


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = create_redis(Settings())  # fakeredis: the same commands and Lua, in process
    yield client
    await client.aclose()


def tutor(redis: Redis, max_replies: int = 4) -> Tutor:
    deps = ReplyDeps(
        config=ReplyConfig(),
        emitter=NoEmitter(),
        rooms=RoomStore(redis),
        messages=MessageStore(redis),
        usage=UsageStore(redis, Metrics()),
        budget=Budget(llm_tokens=0, tts_characters=0),
        metrics=Metrics(),
        llm=OfflineTutorLLM(),
        tts=NoTTS(),
        storage=MemoryStorage(),
    )
    return Tutor(
        deps,
        jobs=ReplyJobs(redis, consumer="test", claim_timeout=5),
        rooms=RoomStore(redis),
        catalogue=Catalogue.load(),
        max_replies=max_replies,
        claim_timeout=5,
    )


async def queued(redis: Redis) -> list[str]:
    entries = await redis.xrange(keys.tutor_jobs())
    return [fields["message_id"] for _id, fields in entries]


async def say(redis: Redis, room_id: str, text: str, client_id: str) -> Message:
    message, _new = await MessageStore(redis).append(room_id, ANN, text, client_id=client_id)
    return message


async def test_a_message_is_queued_once_however_often_it_is_sent(redis: Redis) -> None:
    t = tutor(redis)
    room = (await RoomStore(redis).create("ann", "ada-math")).room
    first = await say(redis, room.room_id, "What is a prime?", "c1")
    await t.on_learner_message(room.room_id, first)
    retried = await say(redis, room.room_id, "What is a prime?", "c1")
    await t.on_learner_message(room.room_id, retried, retried=True)
    assert await queued(redis) == [first.id]
    assert await redis.get(keys.room_turn(room.room_id)) == first.id


async def test_a_retry_queues_a_message_whose_first_send_stopped_short(redis: Redis) -> None:
    t = tutor(redis)
    room = (await RoomStore(redis).create("ann", "ada-math")).room
    stored = await say(redis, room.room_id, "What is a prime?", "c1")  # stored, never queued
    await t.on_learner_message(room.room_id, stored, retried=True)
    assert await queued(redis) == [stored.id]


async def test_a_retry_does_not_revive_a_message_the_room_moved_past(redis: Redis) -> None:
    t = tutor(redis)
    room = (await RoomStore(redis).create("ann", "ada-math")).room
    old = await say(redis, room.room_id, "What is a prime?", "c1")  # never queued
    newer = await say(redis, room.room_id, "Or an even number?", "c2")
    await t.on_learner_message(room.room_id, newer)
    await t.on_learner_message(room.room_id, old, retried=True)
    assert await queued(redis) == [newer.id]

    answered = await say(redis, room.room_id, "And odd?", "c3")
    await MessageStore(redis).append(
        room.room_id,
        Sender(kind="ai", display_name="Ada"),
        "Odd numbers are...",
        client_id=reply_client_id(answered.id),
        reply_to=answered.id,
    )
    await redis.set(keys.room_turn(room.room_id), "")  # stopped since
    await t.on_learner_message(room.room_id, answered, retried=True)
    assert await queued(redis) == [newer.id]


async def test_more_jobs_than_free_places_are_all_answered_in_turn(redis: Redis) -> None:
    # One reply at a time, three rooms asking at once: the replica takes the second and third
    # as places free up, with nothing more queued to wake it (its safety-net read is a minute
    # away, past this test's wait).
    t = tutor(redis, max_replies=1)
    asked = []
    for i in range(3):
        room = (await RoomStore(redis).create("ann", "ada-math")).room
        message = await say(redis, room.room_id, f"Question {i}?", f"c{i}")
        await t.on_learner_message(room.room_id, message)
        asked.append((room.room_id, message.id))
    worker = asyncio.create_task(t.run())
    try:
        async with asyncio.timeout(20):
            for room_id, message_id in asked:
                while not await MessageStore(redis).has_client_id(
                    room_id, None, reply_client_id(message_id)
                ):
                    await asyncio.sleep(0.05)
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)


async def test_the_listener_says_to_look_for_jobs_when_it_starts_and_at_each_new_one(
    redis: Redis,
) -> None:
    # A job queued before the listener's first read is not in what it reads: it says so at
    # start (the replica then reads the group), and again for a job queued afterwards.
    jobs = ReplyJobs(redis, consumer="test", claim_timeout=5)
    await jobs.ensure_group()
    room = (await RoomStore(redis).create("ann", "ada-math")).room
    before = await say(redis, room.room_id, "Before?", "c1")
    await jobs.take_turn(before.id, before.ts, Control(room_id=room.room_id, keep=before.id))
    calls: asyncio.Queue[None] = asyncio.Queue()
    listener = asyncio.create_task(jobs.listen(lambda _c: None, lambda: calls.put_nowait(None)))
    try:
        async with asyncio.timeout(10):
            await calls.get()  # at start
            after = await say(redis, room.room_id, "After?", "c2")
            await jobs.take_turn(after.id, after.ts, Control(room_id=room.room_id, keep=after.id))
            await calls.get()  # the new job
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
