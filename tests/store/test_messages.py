"""The conversation: atomic sequence numbers, idempotent retries, closed rooms."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from app.models import Message, Peer, Sender
from app.store import keys
from app.store.messages import Broadcast, ConversationClosed, MessageStore, NotAMember
from app.store.redis import Redis
from app.store.rooms import RoomStore
from app.store.sessions import SessionStore

ANN = Sender(kind="user", user_id="ann", display_name="Ann")
BEA = Sender(kind="user", user_id="bea", display_name="Bea")


async def _room(redis: Redis) -> str:
    return (await RoomStore(redis).create("ann", "ada-math")).room.room_id


async def test_concurrent_appends_get_distinct_ordered_seqs(redis: Redis) -> None:
    store = MessageStore(redis)
    rid = await _room(redis)
    stored = await asyncio.gather(
        *(store.append(rid, ANN, f"m{n}", client_id=f"c{n}") for n in range(50))
    )
    assert sorted(m.seq for m, _ in stored) == list(range(1, 51))
    listed = await store.list(rid)
    assert [m.seq for m in listed] == list(range(1, 51))
    assert {m.id for m in listed} == {m.id for m, _ in stored}
    assert [m.id for m in await store.list(rid, after=45)] == [m.id for m in listed[45:]]
    assert 0 < await redis.ttl(keys.room_messages(rid)) <= keys.ROOM_TTL


async def test_a_retried_client_id_is_stored_once(redis: Redis) -> None:
    store = MessageStore(redis)
    rid = await _room(redis)
    results = await asyncio.gather(
        *(store.append(rid, ANN, "hi", client_id="same") for _ in range(10))
    )
    assert sum(new for _, new in results) == 1
    assert len({m.id for m, _ in results}) == 1
    assert await store.count(rid) == 1


async def test_client_ids_are_per_sender(redis: Redis) -> None:
    store = MessageStore(redis)
    rid = await _room(redis)
    ann, _ = await store.append(rid, ANN, "from ann", client_id="c1")
    bea, new = await store.append(rid, BEA, "from bea", client_id="c1")
    # Bea reusing Ann's client_id stores her own message; it never returns Ann's.
    assert new and bea.id != ann.id and bea.text == "from bea"


async def test_an_ended_room_takes_no_more_messages(redis: Redis) -> None:
    rooms, store = RoomStore(redis), MessageStore(redis)
    new = await rooms.create("ann", "ada-math")
    await store.append(new.room.room_id, ANN, "hello")
    ended = await SessionStore(redis).end_room(new.room, ["ann"])
    assert ended.outcome == "ok"
    with pytest.raises(ConversationClosed):
        await store.append(new.room.room_id, ANN, "too late")
    with pytest.raises(ConversationClosed):
        await store.append("no-such-room", ANN, "nowhere")


async def test_a_member_check_is_part_of_the_append(redis: Redis) -> None:
    rooms, store = RoomStore(redis), MessageStore(redis)
    rid = (await rooms.create("ann", "ada-math")).room.room_id
    peer = Peer(sid="sid-ann", user_id="ann", display_name="Ann")
    await rooms.join(rid, peer, replica_id="r", invited=False)
    stored, _ = await store.append(rid, ANN, "in the room", member_sid="sid-ann")
    assert stored.seq == 1
    # Another user's socket, or a socket that has left, cannot speak in the room.
    with pytest.raises(NotAMember):
        await store.append(rid, BEA, "not mine", member_sid="sid-ann")
    await rooms.leave(rid, "sid-ann", replica_id="r")
    with pytest.raises(NotAMember):
        await store.append(rid, ANN, "gone", member_sid="sid-ann")
    assert await store.count(rid) == 1


async def test_concurrent_appends_survive_redis_forgetting_the_script(redis: Redis) -> None:
    # After a Redis restart the script cache is empty: a batch of appends sent together (one
    # pipeline) must load the script again rather than fail.
    store = MessageStore(redis)
    rid = await _room(redis)
    await store.append(rid, ANN, "first")
    await redis.script_flush()
    stored = await asyncio.gather(*(store.append(rid, ANN, f"m{n}") for n in range(20)))
    assert sorted(m.seq for m, _ in stored) == list(range(2, 22))


async def test_the_append_publishes_the_message_it_stored(
    redis: Redis, request: pytest.FixtureRequest
) -> None:
    if request.node.callspec.params["redis"] != "redis-server":
        pytest.skip("sharded pub/sub needs a redis-server")
    store = MessageStore(redis)
    rid = await _room(redis)
    await store.append(rid, ANN, "before")
    pubsub = redis.pubsub()
    await pubsub.ssubscribe("room-events")
    assert (await pubsub.get_message(timeout=5))["type"] == "ssubscribe"
    said, new = await store.append(rid, ANN, "hello", broadcast=Broadcast("room-events", "<", ">"))
    message = await pubsub.get_message(timeout=5)
    await pubsub.aclose()
    assert new and said.seq == 2
    body = message["data"]
    assert body[0] == "<" and body[-1] == ">"
    assert Message.model_validate_json(body[1:-1]) == said


async def test_message_ids_are_random_uuids(redis: Redis) -> None:
    store = MessageStore(redis)
    rid = await _room(redis)
    stored = await asyncio.gather(*(store.append(rid, ANN, f"m{n}") for n in range(20)))
    ids = [uuid.UUID(m.id) for m, _ in stored]
    assert all(i.version == 4 and i.variant == uuid.RFC_4122 for i in ids)
    assert [str(i) for i in ids] == [m.id for m, _ in stored] and len(set(ids)) == 20


async def test_the_dumped_message_is_the_stored_message_as_read(redis: Redis) -> None:
    # Chat sends append_dumped's object as it is; it must be what reading the message gives,
    # field for field, new or retried (a field added to Message shows up here).
    store = MessageStore(redis)
    rid = await _room(redis)
    plain, _ = await store.append_dumped(rid, ANN, "hello", client_id="c1")
    extras, _ = await store.append_dumped(
        rid, BEA, "reply", reply_to=plain["id"], metadata={"lang": "en", "n": 2}
    )
    retried, new = await store.append_dumped(rid, ANN, "hello", client_id="c1")
    assert not new and retried == plain
    listed = [m.model_dump(mode="json", exclude_none=True) for m in await store.list(rid)]
    assert listed == [plain, extras]
