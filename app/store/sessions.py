"""Session history: what a room leaves behind when it ends (kept 30 days).

Ending is one Lua script: the room turns ``ended``, the record and the transcript are written and
indexed for every participant, or nothing happens. Two concurrent DELETEs write one record.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Literal

from app.models import Message, Room, SessionRecord
from app.store import keys
from app.store.redis import Redis

PREVIEW_CHARS = 100

_END = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'not_found'} end
if status ~= 'active' then return {'ended', redis.call('HGET', KEYS[1], 'session_id') or ''} end
if redis.call('LLEN', KEYS[2]) ~= tonumber(ARGV[4]) then return {'retry'} end
local ttl = tonumber(ARGV[5])
redis.call('SET', KEYS[3], ARGV[1], 'EX', ttl)
local msgs = redis.call('LRANGE', KEYS[2], 0, -1)
for i = 1, #msgs, 500 do
  redis.call('RPUSH', KEYS[4], unpack(msgs, i, math.min(i + 499, #msgs)))
end
if #msgs > 0 then redis.call('EXPIRE', KEYS[4], ttl) end
local ended_at = tonumber(ARGV[2])
for _, user in ipairs(redis.call('SMEMBERS', KEYS[5])) do
  local index = ARGV[6] .. user .. ARGV[7]
  redis.call('ZADD', index, ended_at, ARGV[3])
  redis.call('ZREMRANGEBYSCORE', index, '-inf', ended_at - ttl)
  redis.call('EXPIRE', index, ttl)
end
redis.call('HSET', KEYS[1], 'status', 'ended', 'ended_at', ARGV[2], 'session_id', ARGV[3])
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
        user_key = keys.user_sessions("\0")
        self._index_prefix, self._index_suffix = user_key.split("\0")

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
            raw = await self._end(
                keys=[
                    keys.room(room.room_id),
                    keys.room_messages(room.room_id),
                    keys.session(record.session_id),
                    keys.session_transcript(record.session_id),
                    keys.room_access(room.room_id),
                ],
                args=[
                    record.model_dump_json(),
                    repr(ended_at),
                    record.session_id,
                    len(messages),
                    keys.SESSION_TTL,
                    self._index_prefix,
                    self._index_suffix,
                ],
            )
            if raw[0] == "ok":
                return EndResult("ok", record)
            if raw[0] == "not_found":
                return EndResult("not_found")
            if raw[0] == "ended":
                return EndResult("already_ended", await self.get(raw[1]) if raw[1] else None)
        raise RuntimeError("room kept changing while it was being ended")

    async def get(self, session_id: str) -> SessionRecord | None:
        raw = await self._redis.get(keys.session(session_id))
        return SessionRecord.model_validate_json(raw) if raw else None

    async def list_for_user(self, user_id: str, *, limit: int = 50) -> list[SessionRecord]:
        ids = await self._redis.zrevrange(keys.user_sessions(user_id), 0, limit - 1)
        if not ids:
            return []
        raws = await self._redis.mget([keys.session(i) for i in ids])
        return [SessionRecord.model_validate_json(r) for r in raws if r]

    async def transcript(self, session_id: str) -> list[Message]:
        raws = await self._redis.lrange(keys.session_transcript(session_id), 0, -1)
        return [
            Message.model_validate_json(raw).model_copy(update={"seq": i + 1})
            for i, raw in enumerate(raws)
        ]
