"""A learner's data rights end to end (two replicas, real Redis, moto's S3): the export holds
everything about them, and after DELETE /api/me nothing with their user id is left anywhere."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
from redis import Redis as SyncRedis

from tests.clients import Api, SocketClient
from tests.servers import RedisServer, Replica
from tests.stubs.openai_chat import OpenAIChatStub
from tests.tutor.conftest import BUCKET
from tests.tutor.memory_steps import session_with, summaries_from_stub, summarized
from tests.tutor.room import reply_done

Cluster = tuple[Replica, Replica]
Sockets = Callable[..., SocketClient]


def redis_mentions(redis: SyncRedis, text: str) -> list[str]:
    """Every key whose name or value contains ``text``."""
    read: dict[str, Callable[[str], Any]] = {
        "string": lambda key: redis.get(key),
        "hash": lambda key: redis.hgetall(key),
        "list": lambda key: redis.lrange(key, 0, -1),
        "set": lambda key: redis.smembers(key),
        "zset": lambda key: redis.zrange(key, 0, -1),
        "stream": lambda key: redis.xrange(key),
    }
    found = []
    for key in redis.scan_iter(count=1000):
        reader = read.get(redis.type(key))
        value: Any = reader(key) if reader is not None else ""
        if text in key or text in repr(value):
            found.append(key)
    return found


def s3_keys(endpoint: str, prefix: str) -> list[str]:
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return [item["Key"] for item in listed.get("Contents", [])]


async def test_export_then_erase_leaves_nothing_with_the_user_id(
    tutor_cluster: Cluster,
    tutor_redis: RedisServer,
    s3_endpoint: str,
    sockets: Sockets,
    chat: OpenAIChatStub,
) -> None:
    a, b = tutor_cluster
    summaries_from_stub(chat)
    ann = await Api.guest(a.url, "Ann")
    bea = await Api.guest(b.url, "Bea")
    r = await ann.request("PUT", "/api/me", json={"display_name": "Ann", "goals": "Algebra"})
    assert r.status_code == 200

    # A session Ann opened (with voiced replies in S3)...
    _, own = await session_with(sockets, ann, a.url, "ada-math", "How do I solve 2x + 3 = 7?")
    own_room = own["room_id"]
    assert s3_keys(s3_endpoint, f"audio/{own_room}/")
    # ...one Bea opened and Ann joined...
    room = await bea.create_room("ada-math")
    bea_sock = await sockets(b.url, bea.token).connect()
    assert (await bea_sock.call("join", {"room_id": room["room_id"]}))["ok"]
    ann_sock = await sockets(a.url, ann.token).connect()
    joined = await ann_sock.call(
        "join", {"room_id": room["room_id"], "invite_token": room["invite_token"]}
    )
    assert joined["ok"]
    # Two people in the room: the Ask toggle addresses the tutor.
    said = {
        "room_id": room["room_id"],
        "text": "Ann here: what is a variable?",
        "client_id": "x",
        "to_tutor": True,
    }
    assert (await ann_sock.call("message", said))["ok"]
    await reply_done(bea_sock)
    shared = (await bea.request("DELETE", f"/api/rooms/{room['room_id']}")).json()
    await summarized(ann, own["session_id"])
    await summarized(bea, shared["session_id"])
    # ...and a room still in progress.
    live = await ann.create_room("lucas-physics")
    live_sock = await sockets(b.url, ann.token).connect()
    assert (await live_sock.call("join", {"room_id": live["room_id"]}))["ok"]

    export = (await ann.request("GET", "/api/me/export")).json()
    assert export["profile"]["goals"] == "Algebra"
    assert {s["record"]["session_id"] for s in export["sessions"]} == {
        own["session_id"],
        shared["session_id"],
    }
    assert export["audio"] and all("X-Amz-Signature" in url for url in export["audio"])
    assert export["progress"]["companions"][0]["companion_id"] == "ada-math"
    # Bea's words are in Ann's copy of their session; Bea's user id is not.
    assert bea.user_id is not None and bea.user_id not in json.dumps(export)

    user_id = ann.user_id
    assert user_id is not None
    with SyncRedis.from_url(tutor_redis.url, decode_responses=True) as redis:
        assert len(redis_mentions(redis, user_id)) > 5  # the scan does see them

    # Erased (the room in progress is ended first, for the socket on the other replica too).
    r = await ann.request("DELETE", "/api/me", headers={"X-Request-ID": "erase"})
    assert r.status_code == 204, r.text
    ended = await live_sock.next("notice")
    assert ended["code"] == "room_ended"
    for sock in (live_sock, ann_sock):  # closed, on both replicas
        await sock.next("disconnect")

    with SyncRedis.from_url(tutor_redis.url, decode_responses=True) as redis:
        assert redis_mentions(redis, user_id) == []
    assert s3_keys(s3_endpoint, f"audio/{own_room}/") == []
    # Ann starts from nothing; Bea keeps her session, with Ann's words gone.
    assert (await ann.request("GET", "/api/sessions")).json()["sessions"] == []
    assert (await ann.request("GET", "/api/me")).json()["goals"] == ""
    transcript = (
        await bea.request("GET", f"/api/sessions/{shared['session_id']}/transcript")
    ).json()["messages"]
    assert "(erased)" in [m["text"] for m in transcript]
    assert not any("what is a variable" in m["text"] for m in transcript)
