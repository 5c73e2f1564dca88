"""Everything stored about one learner, to hand it over (export) or erase it.

Erasure works from the learner's session index: sessions they opened go whole (record,
transcript, summary, the room's keys; the caller deletes the audio); in sessions someone else
opened they are removed from the participants and their messages are redacted. Then every key
under ``holo:user:{id}:`` goes. Rooms in progress are ended by the caller first, so that no new
message or summary can land after the sweep.

The keys swept are on many slots of a Redis Cluster, so each step is a plain pipeline, not a
transaction: erasure that stops half-way (a crash, Redis gone) is finished by asking again,
since every step is repeatable.
"""

from __future__ import annotations

import re
from typing import Any

from app.models import Message, Sender, SessionRecord
from app.store import keys
from app.store.redis import Redis
from app.store.sessions import PREVIEW_CHARS

ERASED_NAME = "Erased learner"
ERASED_TEXT = "(erased)"
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def _glob_escape(text: str) -> str:
    return _GLOB_SPECIAL.sub(r"\\\1", text)


def _room_keys(room_id: str) -> list[str]:
    """A room's keys that can name its people (the room hash of someone else's room names only
    them, and is kept until it expires)."""
    return [
        keys.room_members(room_id),
        keys.room_member_info(room_id),
        keys.room_access(room_id),
        keys.room_messages(room_id),
        keys.room_client_ids(room_id),
        keys.room_turn(room_id),
        keys.room_memory(room_id),
    ]


def _redacted(message: Message, user_id: str) -> Message:
    if message.sender.user_id != user_id:
        return message
    return Message(
        id=message.id,
        seq=message.seq,
        room_id=message.room_id,
        sender=Sender(kind="user", display_name=ERASED_NAME),
        text=ERASED_TEXT,
        ts=message.ts,
    )


def _preview(messages: list[Message]) -> str:
    text = " ".join(f"{m.sender.display_name}: {m.text}" for m in messages[:5])
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


class LearnerData:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def session_ids(self, user_id: str) -> list[str]:
        return [str(i) for i in await self._redis.zrevrange(keys.user_sessions(user_id), 0, -1)]

    async def active_rooms(self) -> list[str]:
        return [str(i) for i in await self._redis.zrange(keys.active_rooms(), 0, -1)]

    async def erase_session(self, record: SessionRecord) -> None:
        """A session the learner opened: gone for everyone who was in it."""
        sid = record.session_id
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.delete(
                keys.session(sid),
                keys.session_transcript(sid),
                keys.session_summary(sid),
                keys.summary_claim(sid),
                keys.room(record.room_id),
                *_room_keys(record.room_id),
            )
            for other in record.participants:
                pipe.zrem(keys.user_sessions(other), sid)
                pipe.zrem(keys.user_memory(other, record.companion_id), sid)
            await pipe.execute()
        await self._delete_matching(keys.room_notice(record.room_id, "*"))

    async def leave_session(self, record: SessionRecord, user_id: str) -> None:
        """A session someone else opened: it stays theirs, without the learner in it."""
        sid = record.session_id
        raws = await self._redis.lrange(keys.session_transcript(sid), 0, -1)
        messages = [_redacted(Message.model_validate_json(raw), user_id) for raw in raws]
        kept = record.model_copy(
            update={
                "participants": [p for p in record.participants if p != user_id],
                "transcript_preview": _preview(messages),
                "summary": None,
            }
        )
        ttl = max(1, int(await self._redis.ttl(keys.session(sid))))
        # The transcript is rewritten in one transaction (its one key): never seen half-redacted.
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.session_transcript(sid))
            if messages:
                pipe.rpush(
                    keys.session_transcript(sid),
                    *(m.model_dump_json(exclude_none=True) for m in messages),
                )
                pipe.expire(keys.session_transcript(sid), ttl)
            await pipe.execute()
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(keys.session(sid), kept.model_dump_json(exclude_none=True), ex=ttl)
            pipe.delete(*_room_keys(record.room_id))
            pipe.zrem(keys.user_sessions(user_id), sid)
            await pipe.execute()

    async def connected_sids(self, user_id: str) -> list[str]:
        """The learner's open Socket.IO connections, on every replica."""
        return [str(sid) for sid in await self._redis.hkeys(keys.connections_of_user(user_id))]

    async def forget_connections(self, user_id: str) -> None:
        """Their connection slots (the replicas' disconnect handlers give them back too, a
        moment later; whichever comes second finds nothing)."""
        subject = keys.connections_of_user(user_id)
        held: dict[str, str] = await self._redis.hgetall(subject)
        # The slots first: a replica's index naming a slot nobody holds is harmless.
        await self._redis.delete(subject)
        if held:
            async with self._redis.pipeline(transaction=False) as pipe:
                for sid, replica_id in held.items():
                    pipe.srem(keys.replica_connections(replica_id), f"{subject} {sid}")
                await pipe.execute()

    async def erase_user_keys(self, user_id: str) -> int:
        """Every key of the learner's own (profile, progress, memory, session index...)."""
        return await self._delete_matching(_glob_escape(keys.user_prefix(user_id)) + "*")

    async def _delete_matching(self, pattern: str) -> int:
        found: list[Any] = [key async for key in self._redis.scan_iter(match=pattern, count=500)]
        if found:
            await self._redis.delete(*found)
        return len(found)
