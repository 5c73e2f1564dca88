"""Consumers of replicas gone for good leave the job streams' groups; their entries never do."""

from __future__ import annotations

import pytest

from app.store import consumers, keys
from app.store.consumers import StaleConsumers
from app.store.redis import Redis
from app.tutor.jobs import ReplyJobs
from app.tutor.summaries import SummaryJobs

STREAM = "test:{jobs}:stream"
GROUP = "workers"


async def _names(redis: Redis, stream: str, group: str) -> set[str]:
    return {c["name"] for c in await redis.xinfo_consumers(stream, group)}


async def test_consumers_with_nothing_pending_are_removed_and_entries_kept(redis: Redis) -> None:
    await redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    first, _, third = [await redis.xadd(STREAM, {"job": str(n)}) for n in (1, 2, 3)]
    # "done" read a job and finished it; "crashed" read one and died holding it; "me" is the
    # replica that looks (a consumer exists once it has read an entry).
    await redis.xreadgroup(GROUP, "done", {STREAM: ">"}, count=1)
    await redis.xack(STREAM, GROUP, first)
    await redis.xreadgroup(GROUP, "crashed", {STREAM: ">"}, count=1)
    await redis.xreadgroup(GROUP, "me", {STREAM: ">"}, count=1)
    await redis.xack(STREAM, GROUP, third)

    stale = StaleConsumers(redis, STREAM, GROUP, keep="me")
    assert await stale.prune(idle_seconds=0) == 1
    assert await _names(redis, STREAM, GROUP) == {"crashed", "me"}
    # The crashed consumer's job is still there to take over; once taken, it goes too.
    _, claimed, *_ = await redis.xautoclaim(STREAM, GROUP, "me", 0, "0-0")
    assert [fields for _, fields in claimed] == [{"job": "2"}]
    assert await stale.prune(idle_seconds=0) == 1
    assert await _names(redis, STREAM, GROUP) == {"me"}


async def test_a_consumer_that_read_lately_is_kept(redis: Redis) -> None:
    await redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    entry = await redis.xadd(STREAM, {"job": "1"})
    await redis.xreadgroup(GROUP, "live", {STREAM: ">"}, count=1)
    await redis.xack(STREAM, GROUP, entry)
    assert await StaleConsumers(redis, STREAM, GROUP, keep="me").prune() == 0
    assert await _names(redis, STREAM, GROUP) == {"live"}


async def test_a_stream_not_read_yet_has_nothing_to_remove(redis: Redis) -> None:
    stale = StaleConsumers(redis, STREAM, GROUP, keep="me")
    assert await stale.prune(idle_seconds=0) == 0
    await redis.xadd(STREAM, {"job": "1"})  # a stream with no group yet
    assert await stale.prune(idle_seconds=0) == 0


async def test_the_job_loops_prune_once_every_interval(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumers, "STALE_CONSUMER_SECONDS", 0)
    await redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)

    async def finished_by(consumer: str) -> None:
        entry = await redis.xadd(STREAM, {"job": consumer})
        await redis.xreadgroup(GROUP, consumer, {STREAM: ">"}, count=1)
        await redis.xack(STREAM, GROUP, entry)

    stale = StaleConsumers(redis, STREAM, GROUP, keep="me")
    await finished_by("gone")
    assert await stale.prune_when_due() == 1  # the first tick
    await finished_by("gone-too")
    assert await stale.prune_when_due() == 0  # not due again yet
    monkeypatch.setattr(consumers, "PRUNE_INTERVAL_SECONDS", 0)
    assert await stale.prune_when_due() == 1
    assert await _names(redis, STREAM, GROUP) == set()


async def test_each_job_stream_prunes_its_own_group(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumers, "STALE_CONSUMER_SECONDS", 0)
    old_replies = ReplyJobs(redis, consumer="replica-before", claim_timeout=10)
    old_summaries = SummaryJobs(redis, consumer="replica-before")
    for jobs in (old_replies, old_summaries):
        await jobs.ensure_group()
    # The replica before read and finished one job of each kind.
    await redis.xadd(keys.tutor_jobs(), {"room_id": "r1", "message_id": "m1", "received_at": "1.0"})
    await old_summaries.enqueue("s1")
    await old_replies.done((await old_replies.read(1))[0].entry_id)
    await old_summaries.done((await old_summaries.read())[0].entry_id)

    replies = ReplyJobs(redis, consumer="replica-now", claim_timeout=10)
    summaries = SummaryJobs(redis, consumer="replica-now")
    assert await replies.prune_consumers() == 1
    assert await summaries.prune_consumers() == 1
    assert await _names(redis, keys.tutor_jobs(), keys.TUTOR_GROUP) == set()
    assert await _names(redis, keys.summary_jobs(), keys.SUMMARY_GROUP) == set()
