"""Room membership under concurrency: the two-human limit and access rules hold however many
replicas join people at the same moment."""

from __future__ import annotations

import asyncio

from app.models import Peer
from app.store import keys
from app.store.redis import Redis
from app.store.rooms import MAX_HUMANS, RoomStore


def _peer(n: int, user: str | None = None) -> Peer:
    return Peer(sid=f"sid-{n}", user_id=user or f"user-{n}", display_name=f"User {n}")


async def test_concurrent_joins_admit_exactly_two_humans(redis: Redis) -> None:
    rooms = RoomStore(redis)
    new = await rooms.create("user-0", "ada-math")
    rid = new.room.room_id
    results = await asyncio.gather(
        *(rooms.join(rid, _peer(n), replica_id=f"r{n % 3}", invited=True) for n in range(20))
    )
    outcomes = [r.outcome for r in results]
    assert outcomes.count("ok") == MAX_HUMANS
    assert outcomes.count("room_full") == 20 - MAX_HUMANS
    assert len(await rooms.peers(rid)) == MAX_HUMANS


async def test_only_the_owner_and_invited_users_get_in(redis: Redis) -> None:
    rooms = RoomStore(redis)
    new = await rooms.create("owner", "ada-math")
    rid = new.room.room_id
    stranger = await rooms.join(rid, _peer(1, "stranger"), replica_id="r", invited=False)
    assert stranger.outcome == "forbidden"
    assert not await rooms.has_access(rid, "stranger")
    assert await rooms.invite_matches(rid, new.invite_token)
    assert not await rooms.invite_matches(rid, new.invite_token + "x")
    guest = await rooms.join(rid, _peer(2, "guest"), replica_id="r", invited=True)
    assert guest.outcome == "ok"
    # Once admitted by invite, the guest may come back without it.
    assert await rooms.has_access(rid, "guest")
    assert (await rooms.join(rid, _peer(3, "owner"), replica_id="r", invited=False)).outcome == "ok"


async def test_same_user_reconnecting_replaces_the_old_socket(redis: Redis) -> None:
    rooms = RoomStore(redis)
    rid = (await rooms.create("ann", "ada-math")).room.room_id
    await rooms.join(rid, _peer(1, "ann"), replica_id="dead", invited=False)
    again = await rooms.join(rid, _peer(2, "ann"), replica_id="alive", invited=False)
    assert again.outcome == "ok"
    assert [p.sid for p in again.replaced] == ["sid-1"]
    assert [p.sid for p in await rooms.peers(rid)] == ["sid-2"]
    # The replaced socket's later leave (its replica noticed late) removes nothing.
    assert await rooms.leave(rid, "sid-1", replica_id="dead") is None
    assert [p.sid for p in await rooms.peers(rid)] == ["sid-2"]


async def test_leave_reports_the_peer_once(redis: Redis) -> None:
    rooms = RoomStore(redis)
    rid = (await rooms.create("ann", "ada-math")).room.room_id
    await rooms.join(rid, _peer(1, "ann"), replica_id="r", invited=False)
    left = await asyncio.gather(*(rooms.leave(rid, "sid-1", replica_id="r") for _ in range(5)))
    assert [p for p in left if p is not None] == [_peer(1, "ann")]


async def test_unknown_room_and_ttls(redis: Redis) -> None:
    rooms = RoomStore(redis)
    assert (await rooms.join("nope", _peer(1), replica_id="r", invited=True)).outcome == "not_found"
    assert await rooms.get("nope") is None
    rid = (await rooms.create("ann", "ada-math")).room.room_id
    await rooms.join(rid, _peer(1, "ann"), replica_id="r", invited=False)
    for key in (keys.room(rid), keys.room_members(rid), keys.room_access(rid)):
        assert 0 < await redis.ttl(key) <= keys.ROOM_TTL


async def test_the_replica_index_follows_a_socket_from_room_to_room(redis: Redis) -> None:
    """The reaper finds a socket in the room it is in now: moving to another room (joined before
    the old one is left) and a refused join leave the index naming that room."""
    rooms = RoomStore(redis)
    first, second, full = [await rooms.create("user-0", "ada-math") for _ in range(3)]
    me = _peer(0)
    for room in (first, second):
        assert (
            await rooms.join(room.room.room_id, me, replica_id="r", invited=False)
        ).outcome == "ok"
    await rooms.leave(first.room.room_id, me.sid, replica_id="r")
    index = keys.replica_sockets("r")
    assert await redis.hgetall(index) == {me.sid: second.room.room_id}
    for n in (1, 2):
        await rooms.join(full.room.room_id, _peer(n), replica_id="other", invited=True)
    refused = await rooms.join(full.room.room_id, me, replica_id="r", invited=True)
    assert refused.outcome == "room_full"
    assert await redis.hgetall(index) == {me.sid: second.room.room_id}
    await rooms.leave(second.room.room_id, me.sid, replica_id="r")
    assert await redis.hgetall(index) == {}
