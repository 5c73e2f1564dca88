"""Session summaries and what they feed: the tutor's memory and the learner's progress.

A summary is written once per session, whichever replica (and however many) tried: ``SET NX``
decides which writer counts the session, and only that one adds it to each participant's
progress (sessions, seconds, messages, topics, active weeks) and, when the summary is usable, to
their memory of that companion. So progress counts every session once (a writer that dies
between the two steps loses that session's counts: they are not worth a two-phase write).

The summary, the session and each learner's keys are on different slots of a Redis Cluster, so
these are separate commands. Erasure races them safely: a learner whose session index no longer
names the session (erased meanwhile) is skipped, and one erased while their counts were being
written has those keys deleted again; a summary written for a session erased meanwhile is
deleted again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from app.models import SessionRecord, SessionSummary
from app.store import keys
from app.store.redis import Redis, get_many

# Memory keeps this many sessions per learner and companion (the prompt uses the newest few).
MEMORY_KEEP = 20


_RAISE = """
local last = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > last then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
"""


def _counted_keys(user_id: str, companion_id: str) -> list[str]:
    return [
        keys.user_progress(user_id),
        keys.user_topics(user_id),
        keys.user_weeks(user_id),
        keys.user_memory(user_id, companion_id),
    ]


def topic_field(companion_id: str, topic: str) -> str:
    return f"{companion_id}\n{topic}"


@dataclass
class CompanionProgress:
    companion_id: str
    sessions: int = 0
    seconds: int = 0
    messages: int = 0
    last_session_at: float | None = None
    topics: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RawProgress:
    companions: dict[str, CompanionProgress]
    weeks: set[str]


class SummaryStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._last = redis.register_script(_RAISE)

    async def get(self, session_id: str) -> SessionSummary | None:
        raw = await self._redis.get(keys.session_summary(session_id))
        return SessionSummary.model_validate_json(raw) if raw else None

    async def attach(self, records: list[SessionRecord]) -> list[SessionRecord]:
        """The records with their summaries (those written so far)."""
        if not records:
            return []
        raws = await get_many(self._redis, [keys.session_summary(r.session_id) for r in records])
        return [
            r.model_copy(update={"summary": SessionSummary.model_validate_json(raw)}) if raw else r
            for r, raw in zip(records, raws, strict=True)
        ]

    async def claim(self, session_id: str, consumer: str) -> bool:
        """The right to summarize the session for ``SUMMARY_CLAIM_TTL`` (so the model is asked
        once even when two replicas hold the job); the holder's own retry gets it again."""
        key = keys.summary_claim(session_id)
        if await self._redis.set(key, consumer, nx=True, ex=keys.SUMMARY_CLAIM_TTL):
            return True
        return bool(await self._redis.get(key) == consumer)

    async def write_once(
        self,
        record: SessionRecord,
        summary: SessionSummary,
        *,
        messages_by_user: dict[str, int],
        week: str,
    ) -> bool | None:
        """Store the summary and count the session in every participant's progress, unless a
        summary is there already (False) or the session was erased meanwhile (None)."""
        summary_key, session_key = (
            keys.session_summary(record.session_id),
            keys.session(record.session_id),
        )
        if not await self._redis.exists(session_key):
            return None
        written = await self._redis.set(
            summary_key, summary.model_dump_json(), nx=True, ex=keys.SESSION_TTL
        )
        if not await self._redis.exists(session_key):  # erased while we wrote
            await self._redis.delete(summary_key)
            return None
        if not written:
            return False
        indexed = await self._indexed(record)
        await self._count(record, summary, indexed, messages_by_user, week)
        erased = set(indexed) - set(await self._indexed(record))
        for user_id in erased:
            await self._redis.delete(*_counted_keys(user_id, record.companion_id))
        return True

    async def _indexed(self, record: SessionRecord) -> list[str]:
        """The participants whose session index still names the session (not erased)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id in record.participants:
                pipe.zscore(keys.user_sessions(user_id), record.session_id)
            scores = await pipe.execute()
        return [u for u, s in zip(record.participants, scores, strict=True) if s is not None]

    async def _count(
        self,
        record: SessionRecord,
        summary: SessionSummary,
        users: list[str],
        messages_by_user: dict[str, int],
        week: str,
    ) -> None:
        cid, ttl = record.companion_id, keys.LEARNER_TTL
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id in users:
                progress = keys.user_progress(user_id)
                pipe.hincrby(progress, f"{cid}:sessions", 1)
                pipe.hincrby(progress, f"{cid}:seconds", record.duration_seconds)
                pipe.hincrby(progress, f"{cid}:messages", messages_by_user.get(user_id, 0))
                pipe.expire(progress, ttl)
                if summary.topics:
                    topics = keys.user_topics(user_id)
                    for topic in summary.topics:
                        pipe.hincrby(topics, topic_field(cid, topic), 1)
                    pipe.expire(topics, ttl)
                pipe.sadd(keys.user_weeks(user_id), week)
                pipe.expire(keys.user_weeks(user_id), ttl)
                if summary.status == "ready":
                    memory = keys.user_memory(user_id, cid)
                    pipe.zadd(memory, {record.session_id: record.ended_at})
                    pipe.zremrangebyrank(memory, 0, -1 - MEMORY_KEEP)
                    pipe.expire(memory, keys.SESSION_TTL)
            await pipe.execute()
        # The newest session wins "last" (a max: HSET would let an older summary move it back).
        for user_id in users:
            await self._raise_last(keys.user_progress(user_id), f"{cid}:last", record.ended_at)

    async def _raise_last(self, progress: str, name: str, ended_at: float) -> None:
        await self._last(keys=[progress], args=[name, repr(ended_at)])

    async def recent_for(
        self, user_id: str, companion_id: str, *, limit: int
    ) -> list[tuple[float, SessionSummary]]:
        """The newest usable summaries of sessions with this companion, newest first."""
        ids = await self._redis.zrevrange(
            keys.user_memory(user_id, companion_id), 0, limit - 1, withscores=True
        )
        if not ids:
            return []
        raws = await get_many(self._redis, [keys.session_summary(i) for i, _ in ids])
        return [
            (float(score), SessionSummary.model_validate_json(raw))
            for (_, score), raw in zip(ids, raws, strict=True)
            if raw
        ]

    async def has_met(self, user_id: str, companion_id: str) -> bool:
        return bool(
            await self._redis.hexists(keys.user_progress(user_id), f"{companion_id}:sessions")
        )

    async def progress(self, user_id: str) -> RawProgress:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.user_progress(user_id))
            pipe.hgetall(keys.user_topics(user_id))
            pipe.smembers(keys.user_weeks(user_id))
            counters, topics, weeks = await pipe.execute()
        companions: dict[str, CompanionProgress] = defaultdict(lambda: CompanionProgress(""))
        for name, value in counters.items():
            companion_id, _, kind = str(name).rpartition(":")
            entry = companions[companion_id]
            entry.companion_id = companion_id
            if kind == "last":
                entry.last_session_at = float(value)
            elif kind in ("sessions", "seconds", "messages"):
                setattr(entry, kind, int(value))
        for name, count in topics.items():
            companion_id, _, topic = str(name).partition("\n")
            if companion_id in companions:
                companions[companion_id].topics[topic] = int(count)
        return RawProgress(companions=dict(companions), weeks={str(w) for w in weeks})

    async def set_room_memory(self, room_id: str, text: str) -> None:
        await self._redis.set(keys.room_memory(room_id), text, ex=keys.ROOM_TTL)

    async def room_memory(self, room_id: str) -> str:
        # Read by every reply: each read keeps it as long as the room, which activity extends.
        return str(await self._redis.getex(keys.room_memory(room_id), ex=keys.ROOM_TTL) or "")
