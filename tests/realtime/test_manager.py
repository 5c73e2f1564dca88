"""The Redis-backed Socket.IO manager: bounded connections under a burst, and a pub/sub
connection that idles through many socket timeouts without being torn down."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import redis
from redis import asyncio as aioredis

from tests.clients import Api, SocketClient
from tests.conftest import ReplicaFactory
from tests.realtime.test_signaling import OFFER
from tests.servers import RedisServer, Replica, wait_until

POOL_SIZE = 8
BURST = 600


def _connections(server: RedisServer, replica: str) -> list[dict[str, str]]:
    with redis.Redis(port=server.port, decode_responses=True) as admin:
        clients = admin.client_list()
    return [c for c in clients if c["name"].startswith(f"holo:{replica}")]


async def _pair(
    start_replica: ReplicaFactory,
    server: RedisServer,
    sockets: Callable[..., SocketClient],
    **env: str,
) -> tuple[Replica, Replica, str, SocketClient, SocketClient]:
    tag = uuid.uuid4().hex[:6]
    a = start_replica(f"mgr-a-{tag}", server.url, **env)
    b = start_replica(f"mgr-b-{tag}", server.url, **env)
    room_id, ann, bea = await _in_one_room(a, b, sockets)
    return a, b, room_id, ann, bea


async def _in_one_room(
    a: Replica, b: Replica, sockets: Callable[..., SocketClient]
) -> tuple[str, SocketClient, SocketClient]:
    """Ann on ``a`` creates a room and Bea on ``b`` joins it (``a`` and ``b`` may be one)."""
    learner, friend = await Api.guest(a.url, "Ann"), await Api.guest(b.url, "Bea")
    room = await learner.create_room()
    ann = await sockets(a.url, learner.token).connect()
    bea = await sockets(b.url, friend.token).connect()
    assert (await ann.call("join", {"room_id": room["room_id"]}))["ok"]
    assert (
        await bea.call("join", {"room_id": room["room_id"], "invite_token": room["invite_token"]})
    )["ok"]
    return room["room_id"], ann, bea


async def test_a_burst_of_publishes_keeps_redis_connections_bounded(
    start_replica: ReplicaFactory, sockets: Callable[..., SocketClient]
) -> None:
    # A server of its own, so that every connection on it is one of these two replicas'.
    server = RedisServer().start()
    try:
        await _burst(server, start_replica, sockets)
    finally:
        server.cleanup()


async def _burst(
    server: RedisServer, start_replica: ReplicaFactory, sockets: Callable[..., SocketClient]
) -> None:
    _a, _b, rid, ann, bea = await _pair(
        start_replica, server, sockets, redis_max_connections=str(POOL_SIZE)
    )
    acks = await asyncio.gather(
        *(
            ann.call("message", {"room_id": rid, "text": f"m{n}", "client_id": f"c{n}"}, timeout=60)
            for n in range(BURST)
        )
    )
    assert all(ack["ok"] for ack in acks)
    received = {(await bea.next("message", timeout=30))["client_id"] for _ in range(BURST)}
    assert received == {f"c{n}" for n in range(BURST)}
    # Each replica: its command pool, its subscription and its heartbeat; the stock manager opened a
    # connection per concurrent publish.
    with redis.Redis(port=server.port) as admin:
        total = len(admin.client_list()) - 1
    assert total <= 2 * (POOL_SIZE + 2), total


async def test_an_idle_subscription_survives_short_socket_timeouts(
    redis_server: RedisServer, start_replica: ReplicaFactory, sockets: Callable[..., SocketClient]
) -> None:
    _a, b, rid, ann, bea = await _pair(
        start_replica, redis_server, sockets, redis_socket_timeout="0.5"
    )

    def subscription_age() -> int:
        subs = [c for c in _connections(redis_server, b.name) if c["name"].endswith(":pubsub")]
        assert len(subs) == 1, subs
        return int(subs[0]["age"])

    # The same pub/sub connection stays up through several command socket timeouts (a
    # reconnect loop would keep its age near zero and this would time out).
    await asyncio.to_thread(
        wait_until, lambda: subscription_age() >= 4, 15, "the subscription to stay up 4 s"
    )
    ack = await ann.call("message", {"room_id": rid, "text": "still there?", "client_id": "idle"})
    assert ack["ok"]
    assert (await bea.next("message"))["text"] == "still there?"
    assert "pub/sub connection lost" not in b.log_text()


async def _said(client: SocketClient) -> dict[str, Any]:
    """The next message a person said (the offline tutor answers some of them)."""
    while True:
        message: dict[str, Any] = await client.next("message")
        if message["sender"]["kind"] == "user":
            return message


async def test_a_replica_subscribes_to_a_room_only_while_it_has_a_client_there(
    redis_server: RedisServer, start_replica: ReplicaFactory, sockets: Callable[..., SocketClient]
) -> None:
    # An SRE's view of the room-affine channels: a replica with no client in a room does not
    # receive (and pay for) that room's events; one that comes back misses nothing.
    _a, _b, rid, ann, bea = await _pair(start_replica, redis_server, sockets)
    channel = f"holo:room:{{{rid}}}:events"

    def subscribers() -> int:
        with redis.Redis(port=redis_server.port) as admin:
            return int(admin.execute_command("PUBSUB", "SHARDNUMSUB", channel)[1])

    assert subscribers() == 2
    # Signaling between the two replicas goes through the room's channel too: the channel every
    # replica listens to carries none of the room's traffic.
    shared = aioredis.Redis(port=redis_server.port).pubsub()
    await shared.subscribe("holo:socketio")
    assert (await shared.get_message(timeout=5))["type"] == "subscribe"
    assert (await ann.call("offer", {"room_id": rid, "to": bea.sid, "sdp": OFFER}))["ok"]
    assert (await bea.next("offer"))["from"] == ann.sid
    assert (await ann.call("message", {"room_id": rid, "text": "hi", "client_id": "m0"}))["ok"]
    assert (await _said(bea))["text"] == "hi"
    assert await shared.get_message(timeout=0.5) is None
    await shared.aclose()

    assert (await bea.call("leave", {"room_id": rid}))["ok"]
    await asyncio.to_thread(wait_until, lambda: subscribers() == 1, 10, "b to unsubscribe")
    assert (await ann.call("message", {"room_id": rid, "text": "alone", "client_id": "m1"}))["ok"]

    # Bea comes back to b: b subscribes again before her join is answered, so the history she
    # gets and the events after it leave no gap.
    rejoined = await bea.call("join", {"room_id": rid})
    said = [m["text"] for m in rejoined["messages"] if m["sender"]["kind"] == "user"]
    assert rejoined["ok"] and said == ["hi", "alone"]
    assert subscribers() == 2
    ack = await ann.call("message", {"room_id": rid, "text": "welcome back", "client_id": "m2"})
    assert ack["ok"]
    assert (await _said(bea))["text"] == "welcome back"  # not "alone": she had it
    await bea.close()
    await asyncio.to_thread(wait_until, lambda: subscribers() == 1, 10, "b to unsubscribe")


async def test_a_room_event_from_the_previous_release_is_still_delivered(
    redis_server: RedisServer, start_replica: ReplicaFactory, sockets: Callable[..., SocketClient]
) -> None:
    # During a rolling upgrade, replicas of the previous release publish a room's events on the
    # shared channel, in their format: the new replicas still deliver them.
    _a, _b, rid, _ann, bea = await _pair(start_replica, redis_server, sockets)
    await _said_by_previous_release(redis_server, rid, "from an old replica")
    assert (await _said(bea))["text"] == "from an old replica"


async def _said_by_previous_release(server: RedisServer, room_id: str, text: str) -> None:
    said = {"id": f"m-{text}", "seq": 1, "room_id": room_id, "text": text, "ts": 1.0}
    said["sender"] = {"kind": "user", "user_id": "u-old", "display_name": "Old"}
    message = {
        "method": "emit",
        "event": "message",
        "data": [said],
        "binary": False,
        "namespace": "/",
        "room": room_id,
        "skip_sid": None,
        "callback": None,
        "host_id": "previous-release",
    }
    body = f"holo-emit previous-release / {room_id}\n{json.dumps(message)}"
    async with aioredis.Redis(port=server.port) as admin:
        await admin.publish("holo:socketio", body)


async def test_two_people_on_one_replica_get_each_message_once_and_in_order(
    redis_server: RedisServer, cluster: list[Replica], sockets: Callable[..., SocketClient]
) -> None:
    # The replica hands a message to its own clients at once, and drops the copy Redis delivers
    # back to it on the room's channel: a second copy would show as a repeated line.
    rid, ann, bea = await _in_one_room(cluster[0], cluster[0], sockets)
    texts = ["one", "two", "three"]
    for n, text in enumerate(texts):
        ack = await ann.call("message", {"room_id": rid, "text": text, "client_id": f"o{n}"})
        assert ack["ok"]
    # Published after the three were (each ack comes after its publish), on the same
    # subscription connection: any copy of them reaches the replica before this line does.
    await _said_by_previous_release(redis_server, rid, "end")
    heard: list[str] = []
    while not heard or heard[-1] != "end":
        heard.append((await _said(bea))["text"])
    assert heard == [*texts, "end"]
