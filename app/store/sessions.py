"""Session history: what a room leaves behind when it ends (kept 30 days).

Ending a room takes three steps, because the room's keys, the session's and each participant's
index are on different slots of a Redis Cluster:

1. the record and the transcript (the messages as read) are written under a new session id;
2. one Lua script on the room's keys turns the room ``ended`` and names that session, only if
   the room is still active and holds exactly the messages read (else the caller reads again):
   this is the commit, so two concurrent DELETEs end it once and every caller sees one record;
3. the session is added to each participant's index.

A caller whose step 2 lost deletes what it wrote in step 1. If a process dies between 2 and 3,
the next DELETE of the room (a retry answers "already ended") writes the indexes again.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Literal

from app.models import Message, Room, SessionRecord
from app.store import keys
from app.store.redis import Redis, get_many

PREVIEW_CHARS = 100
_BATCH = 500  # messages per RPUSH when the transcript is written

_END = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'not_found'} end
if status ~= 'active' then return {'ended', redis.call('HGET', KEYS[1], 'session_id') or ''} end
if redis.call('LLEN', KEYS[2]) ~= tonumber(ARGV[3]) then return {'retry'} end
redis.call('HSET', KEYS[1], 'status', 'ended', 'ended_at', ARGV[1], 'session_id', ARGV[2])
return {'ok'}
"""

EndOutcome = Literal["ok", "not_found", "already_ended"]


@dataclass(frozen=True)
class EndResult:
    outcome: EndOutcome
    session: SessionRecord | None = None


def _preview(messages: list[Message]) -> str:
    text = " ".join(f"{m.sender.display_name}: {m.text}" for m in messages[:5])
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


class SessionStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._end = redis.register_script(_END)

    async def end_room(self, room: Room, participants: list[str]) -> EndResult:
        # Optimistic: build the record from what we read, and let the script refuse it if a
        # message arrived in between (then read again).
        for _ in range(10):
            raws = await self._redis.lrange(keys.room_messages(room.room_id), 0, -1)
            messages = [Message.model_validate_json(raw) for raw in raws]
            ended_at = time.time()
            record = SessionRecord(
                session_id=str(uuid.uuid4()),
                room_id=room.room_id,
                owner_id=room.owner_id,
                companion_id=room.companion_id,
                participants=participants,
                started_at=room.created_at,
                ended_at=ended_at,
                duration_seconds=max(0, round(ended_at - room.created_at)),
                message_count=len(messages),
                transcript_preview=_preview(messages),
            )
            await self._write(record, raws)
            raw = await self._end(
                keys=[keys.room(room.room_id), keys.room_messages(room.room_id)],
                args=[repr(ended_at), record.session_id, len(messages)],
            )
            if raw[0] == "ok":
                await self._index(record)
                return EndResult("ok", record)
            await self._redis.delete(
                keys.session(record.session_id), keys.session_transcript(record.session_id)
            )
            if raw[0] == "not_found":
                return EndResult("not_found")
            if raw[0] == "ended":
                ended = await self.get(raw[1]) if raw[1] else None
                if ended is not None:
                    await self._index(ended)  # in case its ender died before step 3
                return EndResult("already_ended", ended)
        raise RuntimeError("room kept changing while it was being ended")

    async def _write(self, record: SessionRecord, raws: list[str]) -> None:
        """The transcript, then the record (what readers look up first)."""
        transcript = keys.session_transcript(record.session_id)
        if raws:
            async with self._redis.pipeline(transaction=True) as pipe:
                for i in range(0, len(raws), _BATCH):
                    pipe.rpush(transcript, *raws[i : i + _BATCH])
                pipe.expire(transcript, keys.SESSION_TTL)
                await pipe.execute()
        await self._redis.set(
            keys.session(record.session_id), record.model_dump_json(), ex=keys.SESSION_TTL
        )

    async def _index(self, record: SessionRecord) -> None:
        """The session in each participant's history (repeatable)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for user in record.participants:
                index = keys.user_sessions(user)
                pipe.zadd(index, {record.session_id: record.ended_at})
                pipe.zremrangebyscore(index, "-inf", record.ended_at - keys.SESSION_TTL)
                pipe.expire(index, keys.SESSION_TTL)
            await pipe.execute()

    async def get(self, session_id: str) -> SessionRecord | None:
        raw = await self._redis.get(keys.session(session_id))
        return SessionRecord.model_validate_json(raw) if raw else None

    async def list_for_user(self, user_id: str, *, limit: int = 50) -> list[SessionRecord]:
        ids = await self._redis.zrevrange(keys.user_sessions(user_id), 0, limit - 1)
        if not ids:
            return []
        raws = await get_many(self._redis, [keys.session(i) for i in ids])
        return [SessionRecord.model_validate_json(r) for r in raws if r]

    async def transcript(self, session_id: str) -> list[Message]:
        raws = await self._redis.lrange(keys.session_transcript(session_id), 0, -1)
        return [
            Message.model_validate_json(raw).model_copy(update={"seq": i + 1})
            for i, raw in enumerate(raws)
        ]
