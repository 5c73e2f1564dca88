"""Session summaries and what they feed: the tutor's memory and the learner's progress.

A summary is written once per session, whichever replica (and however many) tried: one Lua
script sets it only if none is there, and in the same step adds the session to each
participant's progress (sessions, seconds, messages, topics, active weeks) and, when the summary
is usable, to their memory of that companion. So progress counts every session exactly once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from app.models import SessionRecord, SessionSummary
from app.store import keys
from app.store.redis import Redis

# Memory keeps this many sessions per learner and companion (the prompt uses the newest few).
MEMORY_KEEP = 20

_WRITE_ONCE = """
if redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 0 end
local cid, ended, lttl = ARGV[4], ARGV[6], tonumber(ARGV[3])
local nt = tonumber(ARGV[10])
local i = 11 + nt
while i + 5 <= #ARGV do
  local index, progress, topics = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local weeks, memory = ARGV[i + 3], ARGV[i + 4]
  -- A participant who erased their data meanwhile is no longer indexed: nothing is written.
  if redis.call('ZSCORE', index, ARGV[5]) then
    redis.call('HINCRBY', progress, cid .. ':sessions', 1)
    redis.call('HINCRBY', progress, cid .. ':seconds', ARGV[7])
    redis.call('HINCRBY', progress, cid .. ':messages', ARGV[i + 5])
    local last = tonumber(redis.call('HGET', progress, cid .. ':last') or '0')
    if tonumber(ended) > last then redis.call('HSET', progress, cid .. ':last', ended) end
    redis.call('EXPIRE', progress, lttl)
    for t = 11, 10 + nt do redis.call('HINCRBY', topics, ARGV[t], 1) end
    if nt > 0 then redis.call('EXPIRE', topics, lttl) end
    redis.call('SADD', weeks, ARGV[8])
    redis.call('EXPIRE', weeks, lttl)
    if ARGV[9] == '1' then
      redis.call('ZADD', memory, ended, ARGV[5])
      redis.call('ZREMRANGEBYRANK', memory, 0, -1 - KEEP)
      redis.call('EXPIRE', memory, ARGV[2])
    end
  end
  i = i + 6
end
return 1
""".replace("KEEP", str(MEMORY_KEEP))


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
        self._write_once = redis.register_script(_WRITE_ONCE)

    async def get(self, session_id: str) -> SessionSummary | None:
        raw = await self._redis.get(keys.session_summary(session_id))
        return SessionSummary.model_validate_json(raw) if raw else None

    async def attach(self, records: list[SessionRecord]) -> list[SessionRecord]:
        """The records with their summaries (those written so far)."""
        if not records:
            return []
        raws = await self._redis.mget([keys.session_summary(r.session_id) for r in records])
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
        topic_fields = [topic_field(record.companion_id, t) for t in summary.topics]
        args: list[Any] = [
            summary.model_dump_json(),
            keys.SESSION_TTL,
            keys.LEARNER_TTL,
            record.companion_id,
            record.session_id,
            repr(record.ended_at),
            record.duration_seconds,
            week,
            "1" if summary.status == "ready" else "0",
            len(topic_fields),
            *topic_fields,
        ]
        for user_id in record.participants:
            args += [
                keys.user_sessions(user_id),
                keys.user_progress(user_id),
                keys.user_topics(user_id),
                keys.user_weeks(user_id),
                keys.user_memory(user_id, record.companion_id),
                messages_by_user.get(user_id, 0),
            ]
        done = int(
            await self._write_once(
                keys=[keys.session_summary(record.session_id), keys.session(record.session_id)],
                args=args,
            )
        )
        return None if done < 0 else bool(done)

    async def recent_for(
        self, user_id: str, companion_id: str, *, limit: int
    ) -> list[tuple[float, SessionSummary]]:
        """The newest usable summaries of sessions with this companion, newest first."""
        ids = await self._redis.zrevrange(
            keys.user_memory(user_id, companion_id), 0, limit - 1, withscores=True
        )
        if not ids:
            return []
        raws = await self._redis.mget([keys.session_summary(i) for i, _ in ids])
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
