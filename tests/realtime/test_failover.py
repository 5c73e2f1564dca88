"""Failures a call must survive: a replica killed outright, Redis restarting."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

import httpx

from tests.clients import Api, SocketClient
from tests.conftest import ReplicaFactory
from tests.servers import RedisServer


async def test_killed_replica_peer_left_and_rejoin_elsewhere(
    redis_server: RedisServer, start_replica: ReplicaFactory, sockets: Callable[..., SocketClient]
) -> None:
    # Production heartbeat settings: the promise is peer-left within 30 s.
    a = start_replica(
        "kill-a", redis_server.url, heartbeat_interval_seconds="5", heartbeat_ttl_seconds="15"
    )
    b = start_replica(
        "kill-b", redis_server.url, heartbeat_interval_seconds="5", heartbeat_ttl_seconds="15"
    )
    learner = await Api.guest(a.url, "Ann")
    friend = await Api.guest(b.url, "Bea")
    room = await learner.create_room()
    rid = room["room_id"]
    ann = await sockets(a.url, learner.token).connect()
    bea = await sockets(b.url, friend.token).connect()
    await ann.call("join", {"room_id": rid})
    await bea.call("join", {"room_id": rid, "invite_token": room["invite_token"]})
    await ann.next("peer-joined")
    for i in range(3):
        await ann.call("message", {"room_id": rid, "text": f"before {i}", "client_id": f"m{i}"})
    old_sid = ann.sid

    a.kill()  # SIGKILL: no goodbye, no cleanup

    left = await bea.next("peer-left", timeout=30)
    assert left["sid"] == old_sid and left["user_id"] == learner.user_id

    # Ann's page reconnects (through the load balancer) to the surviving replica and rejoins.
    ann2 = await sockets(b.url, learner.token).connect()
    ack = await ann2.call("join", {"room_id": rid})
    assert ack["ok"], ack
    said = [m["text"] for m in ack["messages"] if m["sender"]["kind"] == "user"]  # not the tutor's
    assert said == ["before 0", "before 1", "before 2"]
    assert [p["user_id"] for p in ack["peers"]] == [friend.user_id]
    assert (await bea.next("peer-joined"))["sid"] == ann2.sid


async def test_rejoin_before_cleanup_replaces_the_old_socket(
    redis_server: RedisServer, start_replica: ReplicaFactory, sockets: Callable[..., SocketClient]
) -> None:
    """A reconnect can beat the reaper: the same person joining again is not `room_full`, and
    the other side learns the old socket is gone."""
    a = start_replica(
        "early-a", redis_server.url, heartbeat_interval_seconds="5", heartbeat_ttl_seconds="15"
    )
    b = start_replica(
        "early-b", redis_server.url, heartbeat_interval_seconds="5", heartbeat_ttl_seconds="15"
    )
    learner = await Api.guest(a.url, "Ann")
    friend = await Api.guest(b.url, "Bea")
    room = await learner.create_room()
    rid = room["room_id"]
    ann = await sockets(a.url, learner.token).connect()
    bea = await sockets(b.url, friend.token).connect()
    await ann.call("join", {"room_id": rid})
    await bea.call("join", {"room_id": rid, "invite_token": room["invite_token"]})
    old_sid = ann.sid
    a.kill()
    ann2 = await sockets(b.url, learner.token).connect()
    ack = await ann2.call("join", {"room_id": rid})
    assert ack["ok"], ack
    assert (await bea.next("peer-left"))["sid"] == old_sid
    assert (await bea.next("peer-joined"))["sid"] == ann2.sid


async def _status(url: str) -> int:
    async with httpx.AsyncClient(timeout=5) as http:
        return (await http.get(f"{url}/readyz")).status_code


async def _until_status(url: str, status: int, timeout: float = 30) -> None:
    async def poll() -> None:
        while await _status(url) != status:
            await asyncio.sleep(0.1)

    await asyncio.wait_for(poll(), timeout)


async def test_redis_restart_recovers_without_losing_acknowledged_messages(
    start_replica: ReplicaFactory, sockets: Callable[..., SocketClient]
) -> None:
    redis = RedisServer(durable=True).start()
    try:
        a = start_replica("rr-a", redis.url)
        b = start_replica("rr-b", redis.url)
        learner = await Api.guest(a.url, "Ann")
        friend = await Api.guest(b.url, "Bea")
        room = await learner.create_room()
        rid = room["room_id"]
        ann = await sockets(a.url, learner.token, reconnection=True).connect()
        bea = await sockets(b.url, friend.token, reconnection=True).connect()
        await ann.call("join", {"room_id": rid})
        await bea.call("join", {"room_id": rid, "invite_token": room["invite_token"]})
        acked = [await ann.call("message", {"room_id": rid, "text": "before", "client_id": "b1"})]
        assert acked[0]["ok"]

        redis.stop()
        await _until_status(a.url, 503)
        await _until_status(b.url, 503)
        # While Redis is down nothing is acknowledged that is not stored: a clear error instead.
        down = await ann.call(
            "message", {"room_id": rid, "text": "during", "client_id": "d1"}, timeout=30
        )
        assert down["ok"] is False and down["error"]["code"] == "unavailable"

        redis.start()
        await _until_status(a.url, 200)
        await _until_status(b.url, 200)
        # The client retries its unacknowledged message with the same client_id.
        retried = await ann.call("message", {"room_id": rid, "text": "during", "client_id": "d1"})
        assert retried["ok"], retried

        # Cross-replica delivery works again (the pub/sub listener re-subscribed by itself).
        async def delivered() -> dict[str, object]:
            while True:
                msg = await bea.next("message", timeout=30)
                if msg["text"] == "after":
                    return dict(msg)

        after = await ann.call("message", {"room_id": rid, "text": "after", "client_id": "a1"})
        assert after["ok"]
        assert (await delivered())["id"] == after["message"]["id"]
        r = await Api(b.url, friend.token).request("GET", f"/api/rooms/{rid}/messages")
        said = [m["text"] for m in r.json()["messages"] if m["sender"]["kind"] == "user"]
        assert said == ["before", "during", "after"]
        assert "Traceback" not in a.log_text() + b.log_text()
    finally:
        redis.cleanup()


async def test_a_stalled_replica_taken_for_dead_reconnects_its_clients(
    redis_server: RedisServer, start_replica: ReplicaFactory, sockets: Callable[..., SocketClient]
) -> None:
    a = start_replica("stall-a", redis_server.url)
    b = start_replica("stall-b", redis_server.url)
    learner, friend = await Api.guest(a.url, "Ann"), await Api.guest(b.url, "Bea")
    room = await learner.create_room()
    rid = room["room_id"]
    ann = await sockets(a.url, learner.token).connect()
    bea = await sockets(b.url, friend.token).connect()
    assert (await ann.call("join", {"room_id": rid}))["ok"]
    assert (await bea.call("join", {"room_id": rid, "invite_token": room["invite_token"]}))["ok"]
    await ann.next("peer-joined")

    assert a.proc is not None
    a.proc.send_signal(signal.SIGSTOP)  # a long pause: its heartbeat lapses, b reaps it
    try:
        assert (await bea.next("peer-left", timeout=30))["user_id"] == learner.user_id
    finally:
        a.proc.send_signal(signal.SIGCONT)

    # Back from the pause, a finds it was reaped: Ann is told and her transport is closed (a
    # browser's socket.io client reconnects by itself on a transport close; this one is
    # reconnected by hand), and she rejoins.
    notice = await ann.next("notice", timeout=30)
    assert notice["code"] == "connection_reset"
    await ann.next("disconnect", timeout=30)
    ann = await sockets(a.url, learner.token).connect()
    rejoined = await ann.call("join", {"room_id": rid})
    assert rejoined["ok"] and [p["user_id"] for p in rejoined["peers"]] == [friend.user_id]
    assert (await bea.next("peer-joined"))["user_id"] == learner.user_id
    ack = await ann.call("message", {"room_id": rid, "text": "back", "client_id": "back"})
    assert ack["ok"]
    assert (await bea.next("message"))["text"] == "back"
    assert bea.pending("peer-left") == 0  # she was told once


async def test_a_replica_restarted_in_place_leaves_no_ghost(
    redis_server: RedisServer, start_replica: ReplicaFactory, sockets: Callable[..., SocketClient]
) -> None:
    """A pod's container restarted in place (crash, OOM kill) comes back with the same replica
    id at once: the sockets of the process that died must still be reaped."""
    a = start_replica("ghost-a", redis_server.url)
    b = start_replica("ghost-b", redis_server.url)
    learner = await Api.guest(a.url, "Ann")
    friend = await Api.guest(b.url, "Bea")
    room = await learner.create_room()
    rid, invite = room["room_id"], room["invite_token"]
    ann = await sockets(a.url, learner.token).connect()
    bea = await sockets(b.url, friend.token).connect()
    await ann.call("join", {"room_id": rid})
    await bea.call("join", {"room_id": rid, "invite_token": invite})
    bea_sid = (await ann.next("peer-joined"))["sid"]

    b.kill()
    b.start()  # the same HOLO_REPLICA_ID, before its heartbeat has even lapsed

    left = await ann.next("peer-left", timeout=30)
    assert left["sid"] == bea_sid
    # The seat is free: someone else with the invite gets in.
    cara = await Api.guest(b.url, "Cara")
    ack = await (await sockets(b.url, cara.token).connect()).call(
        "join", {"room_id": rid, "invite_token": invite}
    )
    assert ack["ok"], ack
    assert [p["user_id"] for p in ack["peers"]] == [learner.user_id]
