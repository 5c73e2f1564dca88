"""Replicas on a real three-node Redis Cluster: rooms on every node, the tutor's queue, and the
reaper of a killed replica (the store layer's scripts are checked on the cluster by
tests/store)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from redis.cluster import RedisCluster, key_slot

from app.realtime.cluster_subscriber import RECHECK_SECONDS
from app.store import keys
from tests.clients import Api, SocketClient
from tests.conftest import BASE_ENV, ReplicaFactory
from tests.servers import RedisClusterServers, Replica
from tests.tutor.room import open_room, reply_done

Sockets = Callable[..., SocketClient]
MAX_PER_NODE = 6 + 2 + 1 + 3  # redisMaxConnections + pipelines, subscription, the heartbeat's


@pytest.fixture(scope="module")
def on_cluster(redis_cluster: RedisClusterServers) -> Iterator[tuple[Replica, Replica]]:
    env = {**BASE_ENV, "HOLO_REDIS_URL": redis_cluster.url}
    replicas = (Replica("rc-a", env).start(), Replica("rc-b", env).start())
    yield replicas
    for replica in replicas:
        replica.stop()


def _node_of(servers: RedisClusterServers, room_id: str) -> str:
    port = servers.nodes[0].port
    client = RedisCluster(host="127.0.0.1", port=port)
    try:
        return str(client.get_node_from_key(keys.room(room_id)).name)
    finally:
        client.close()


async def test_rooms_on_every_node_chat_across_replicas_and_keep_history(
    on_cluster: tuple[Replica, Replica], redis_cluster: RedisClusterServers, sockets: Sockets
) -> None:
    a, b = on_cluster
    learner = await Api.guest(a.url, "Ann")
    friend = await Api.guest(b.url, "Bea")
    # Rooms until one lives on each node (a room's slot is its id's hash).
    rooms: dict[str, dict[str, str]] = {}
    for _ in range(60):
        room = await learner.create_room()
        rooms.setdefault(_node_of(redis_cluster, room["room_id"]), room)
        if len(rooms) == len(redis_cluster.nodes):
            break
    assert len(rooms) == len(redis_cluster.nodes)

    ann = await sockets(a.url, learner.token).connect()
    bea = await sockets(b.url, friend.token).connect()
    for n, room in enumerate(rooms.values()):
        rid = room["room_id"]
        assert (await ann.call("join", {"room_id": rid}))["ok"]
        joined = await bea.call("join", {"room_id": rid, "invite_token": room["invite_token"]})
        assert joined["ok"], joined
        await ann.next("peer-joined")
        for i in range(3):
            sent = await ann.call(
                "message", {"room_id": rid, "text": f"a{n}.{i}", "client_id": f"a{n}.{i}"}
            )
            assert sent["ok"], sent
            assert (await bea.next("message"))["text"] == f"a{n}.{i}"
        assert (await bea.call("message", {"room_id": rid, "text": f"b{n}", "client_id": f"b{n}"}))[
            "ok"
        ]
        assert (await ann.next("message"))["text"] == f"b{n}"

        # A later join on the other replica gets the whole conversation, in order.
        late = await sockets(b.url, learner.token).connect()
        history = await late.call("join", {"room_id": rid})
        said = [m["text"] for m in history["messages"] if m["sender"]["kind"] == "user"]
        assert said == [f"a{n}.0", f"a{n}.1", f"a{n}.2", f"b{n}"]
        assert [m["seq"] for m in history["messages"]] == list(
            range(1, len(history["messages"]) + 1)
        )
        await late.close()
        await bea.next("peer-left")  # the replaced socket of Ann's

    # Bounded per node: the command pool (+2 for pipelines), a subscription, the heartbeat's.
    for node in redis_cluster.nodes:
        listed = redis_cluster.cli(node, "client", "list")
        assert 0 < listed.count("name=holo:rc-a") <= MAX_PER_NODE, listed


async def test_the_tutor_answers_through_the_queue(
    on_cluster: tuple[Replica, Replica], sockets: Sockets
) -> None:
    a, b = on_cluster
    room = await open_room(sockets, a.url, b.url)
    asked = await room.say("How do I add fractions?", "q1")
    for sock in room.sockets:
        events = await reply_done(sock)
        assert events.message["reply_to"] == asked["id"]
        assert events.message["metadata"]["offline"] is True
    assert [m["sender"]["kind"] for m in await room.messages()] == ["user", "ai"]


async def test_a_killed_replica_s_peers_are_reaped(
    on_cluster: tuple[Replica, Replica],
    redis_cluster: RedisClusterServers,
    start_replica: ReplicaFactory,
    sockets: Sockets,
) -> None:
    a, _ = on_cluster
    doomed = start_replica("rc-doomed", redis_cluster.url)
    room = await open_room(sockets, a.url, doomed.url)
    assert room.friend is not None
    gone = room.friend.sid

    doomed.kill()  # SIGKILL: no goodbye

    assert (await room.learner.next("peer-left", timeout=30))["sid"] == gone


async def test_a_room_moved_to_another_node_still_reaches_both_replicas(
    on_cluster: tuple[Replica, Replica], redis_cluster: RedisClusterServers, sockets: Sockets
) -> None:
    """A resharding moves a room's slot (its keys and its channel) while two replicas have
    clients in it: the subscriptions follow it (within the subscriber's recheck)."""
    a, b = on_cluster
    room = await open_room(sockets, a.url, b.url)
    rid, ann, bea = room.room_id, room.learner, room.friend
    assert bea is not None

    slot = key_slot(keys.room(rid).encode())
    source = redis_cluster.owner(slot)
    redis_cluster.move_slot(slot, next(n for n in redis_cluster.nodes if n is not source))

    # Messages said right after the move may be published before a replica re-subscribed:
    # say one a second until one arrives, then every later one must; both ways.
    async def heard(said_by: SocketClient, heard_by: SocketClient, text: str) -> bool:
        sent = await said_by.call("message", {"room_id": rid, "text": text, "client_id": text})
        assert sent["ok"], sent
        try:
            while (await heard_by.next("message", timeout=1))["text"] != text:
                pass  # an earlier one, late
        except TimeoutError:
            return False
        return True

    for said_by, heard_by in ((ann, bea), (bea, ann)):
        n = 0
        while not await heard(said_by, heard_by, f"{said_by.sid}:{n}"):
            n += 1
            assert n < 3 * RECHECK_SECONDS, "the moved room's events never reached a replica"
        for m in range(n + 1, n + 4):
            assert await heard(said_by, heard_by, f"{said_by.sid}:{m}")
