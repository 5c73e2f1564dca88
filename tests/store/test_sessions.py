"""Ending a room: one session record, whatever races it, and a transcript kept 30 days."""

from __future__ import annotations

import asyncio

from app.models import Sender
from app.store import keys
from app.store.messages import ConversationClosed, MessageStore
from app.store.redis import Redis
from app.store.rooms import RoomStore
from app.store.sessions import EndResult, SessionStore

ANN = Sender(kind="user", user_id="ann", display_name="Ann")


async def test_end_room_writes_one_record_with_the_whole_transcript(redis: Redis) -> None:
    rooms, messages, sessions = RoomStore(redis), MessageStore(redis), SessionStore(redis)
    new = await rooms.create("ann", "ada-math")
    rid = new.room.room_id
    for n in range(3):
        await messages.append(rid, ANN, f"line {n}")

    async def send_while_ending(n: int) -> bool:
        try:
            await messages.append(rid, ANN, f"late {n}")
            return True
        except ConversationClosed:
            return False

    results = await asyncio.gather(
        *(sessions.end_room(new.room, ["ann"]) for _ in range(5)),
        *(send_while_ending(n) for n in range(20)),
    )
    ends = [e for e in results[:5] if isinstance(e, EndResult)]
    assert len(ends) == 5
    accepted = sum(bool(r) for r in results[5:])
    assert [e.outcome for e in ends].count("ok") == 1
    record = next(e.session for e in ends if e.outcome == "ok")
    assert record is not None
    # Every ending caller sees the same session; every accepted message is in it.
    assert {e.session.session_id for e in ends if e.session} == {record.session_id}
    assert record.message_count == 3 + accepted
    transcript = await sessions.transcript(record.session_id)
    assert len(transcript) == record.message_count
    assert [m.seq for m in transcript] == list(range(1, record.message_count + 1))
    assert record.transcript_preview.startswith("Ann: line 0")
    assert [s.session_id for s in await sessions.list_for_user("ann")] == [record.session_id]
    assert await sessions.list_for_user("someone-else") == []
    for key in (keys.session(record.session_id), keys.session_transcript(record.session_id)):
        assert keys.ROOM_TTL < await redis.ttl(key) <= keys.SESSION_TTL


async def test_ending_an_unknown_room(redis: Redis) -> None:
    rooms, sessions = RoomStore(redis), SessionStore(redis)
    new = await rooms.create("ann", "ada-math")
    await redis.delete(keys.room(new.room.room_id))
    assert (await sessions.end_room(new.room, ["ann"])).outcome == "not_found"
