"""Audio after the reply: links in history are signed when read (Redis keeps keys), and local
media is swept by age once its retention period is over, never because a session ended.

One replica with local media on a Redis of its own (the tutor tests' Redis has replicas that
take reply jobs with S3 storage), the LLM and ElevenLabs stand-ins.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
import redis

from app.store import keys
from tests.clients import Api, SocketClient
from tests.conftest import ReplicaFactory
from tests.servers import RedisServer, Replica, wait_until
from tests.stubs.elevenlabs import ElevenLabsStub
from tests.stubs.openai_chat import OpenAIChatStub
from tests.tutor.conftest import tutor_env
from tests.tutor.room import TutorRoom, open_room, reply_done

Sockets = Callable[..., SocketClient]
DAY = 24 * 3600


@pytest.fixture(scope="module")
def media_redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.cleanup()


LocalMedia = Callable[[str], Replica]


@pytest.fixture
def local_media(
    start_replica: ReplicaFactory,
    media_redis: RedisServer,
    chat: OpenAIChatStub,
    voice: ElevenLabsStub,
    tmp_path: Path,
) -> LocalMedia:
    """Start a replica (by name) whose audio goes to the test's directory, ``tmp_path``."""
    env = tutor_env(chat, voice, "", s3_bucket="", media_dir=str(tmp_path))
    settings = {k.removeprefix("HOLO_").lower(): v for k, v in env.items()}
    return lambda name: start_replica(name, media_redis.url, **settings)


async def fetch(replica: Replica, url: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=replica.url, timeout=10) as http:
        return await http.get(url)


def stored(media_redis: RedisServer, room_id: str) -> list[dict[str, Any]]:
    client = redis.Redis.from_url(media_redis.url, decode_responses=True)
    try:
        return [json.loads(raw) for raw in client.lrange(keys.room_messages(room_id), 0, -1)]
    finally:
        client.close()


def store_as_previous_release(
    media_redis: RedisServer, room_id: str, audio_urls: list[str], *, ts: float
) -> None:
    """A reply as the release before this one stored it: with URLs signed when it was made."""
    message = {
        "id": f"legacy-{ts}",
        "seq": 0,
        "room_id": room_id,
        "sender": {"kind": "ai", "display_name": "Ada"},
        "text": "An answer from before the upgrade.",
        "ts": ts,
        "audio_urls": audio_urls,
    }
    client = redis.Redis.from_url(media_redis.url, decode_responses=True)
    try:
        client.rpush(keys.room_messages(room_id), json.dumps(message))
    finally:
        client.close()


async def voiced_reply(room: TutorRoom) -> dict[str, Any]:
    await room.say("What is 7 times 8?", "q1")
    events = await reply_done(room.learner)
    assert events.audio
    return events.message


async def test_history_transcript_and_join_sign_audio_links_when_read(
    local_media: LocalMedia, media_redis: RedisServer, sockets: Sockets, tmp_path: Path
) -> None:
    replica = local_media("links")
    room = await open_room(sockets, replica.url)
    reply = await voiced_reply(room)
    clips = [(await fetch(replica, url)).content for url in reply["audio_urls"]]

    # Redis keeps the clips' storage keys, not URLs that expire.
    kept = stored(media_redis, room.room_id)[-1]["audio_urls"]
    assert kept == [f"{room.room_id}/{reply['metadata']['reply_id']}/{i}.mp3" for i in range(5)]

    # Replies stored by the previous release carry URLs that have expired since (a local one
    # and a presigned S3 one); they read with fresh links to the same audio.
    first = kept[0]
    expired = [
        f"/media/{first}?exp=1700000000&sig=c2lnbmVkLWxvbmctYWdv",
        f"https://audio.s3.amazonaws.com/audio/{first}?X-Amz-Expires=21600&X-Amz-Signature=ab",
    ]
    assert (await fetch(replica, expired[0])).status_code == 403
    store_as_previous_release(media_redis, room.room_id, expired, ts=time.time() - 60)

    listed = await room.messages()
    assert [m["sender"]["kind"] for m in listed] == ["user", "ai", "ai"]
    assert [(await fetch(replica, u)).content for u in listed[1]["audio_urls"]] == clips
    upgraded = [await fetch(replica, u) for u in listed[2]["audio_urls"]]
    assert [(r.status_code, r.content) for r in upgraded] == [(200, clips[0])] * 2

    # join's recent messages: a rejoining learner gets working links too.
    again = await sockets(replica.url, room.learner_api.token).connect()
    ack = await again.call("join", {"room_id": room.room_id})
    assert ack["ok"], ack
    joined = ack["messages"]
    assert [(await fetch(replica, u)).content for u in joined[1]["audio_urls"]] == clips
    assert (await fetch(replica, joined[2]["audio_urls"][0])).content == clips[0]

    # The transcript of the ended session.
    ended = await room.learner_api.request("DELETE", f"/api/rooms/{room.room_id}")
    assert ended.status_code == 200, ended.text
    session_id = ended.json()["session_id"]
    r = await room.learner_api.request("GET", f"/api/sessions/{session_id}/transcript")
    transcript = r.json()["messages"]
    assert [(await fetch(replica, u)).content for u in transcript[1]["audio_urls"]] == clips
    assert (await fetch(replica, transcript[2]["audio_urls"][1])).content == clips[0]


def age(path: Path, days: float) -> None:
    then = time.time() - days * DAY
    os.utime(path, (then, then))


async def test_local_media_is_swept_after_retention_and_kept_within_it(
    local_media: LocalMedia, media_redis: RedisServer, sockets: Sockets, tmp_path: Path
) -> None:
    # Audio of a room from 8 days ago, and of one from 6 days ago.
    old = tmp_path / "old-room" / "old-reply" / "0.mp3"
    recent = tmp_path / "recent-room" / "recent-reply" / "0.mp3"
    for path, days in ((old, 8), (recent, 6)):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"ID3 audio")
        for each in (path, path.parent, path.parent.parent):
            age(each, days)

    replica = local_media("sweep")
    # The sweep at start takes the old room's audio and folders, and nothing else.
    wait_until(lambda: not (tmp_path / "old-room").exists(), 10, "the sweep at start")
    assert recent.read_bytes() == b"ID3 audio"

    room = await open_room(sockets, replica.url)
    reply = await voiced_reply(room)
    # History older than the retention period has no links (its audio is gone).
    store_as_previous_release(
        media_redis,
        room.room_id,
        ["/media/old-room/old-reply/0.mp3?exp=1&sig=x"],
        ts=time.time() - 8 * DAY,
    )
    ended = await room.learner_api.request("DELETE", f"/api/rooms/{room.room_id}")
    session_id = ended.json()["session_id"]

    # Ending the session deleted nothing; neither does the next sweep (a restarted replica).
    replica.kill()
    marker = tmp_path / "swept-marker" / "x" / "0.mp3"
    marker.parent.mkdir(parents=True)
    marker.write_bytes(b"old")
    age(marker, 30)
    replica = local_media("sweep-2")
    wait_until(lambda: not marker.exists(), 10, "the sweep after the restart")
    learner = Api(replica.url, room.learner_api.token)
    r = await learner.request("GET", f"/api/sessions/{session_id}/transcript")
    transcript = r.json()["messages"]
    assert [m["sender"]["kind"] for m in transcript] == ["user", "ai", "ai"]
    served = [await fetch(replica, url) for url in transcript[1]["audio_urls"]]
    assert [s.status_code for s in served] == [200] * len(reply["audio_urls"])
    assert "audio_urls" not in transcript[2]
    assert recent.exists()


def lifecycle_rules(s3_endpoint: str, bucket: str) -> list[dict[str, Any]]:
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    try:
        rules: list[dict[str, Any]] = client.get_bucket_lifecycle_configuration(Bucket=bucket)[
            "Rules"
        ]
    except client.exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchLifecycleConfiguration"
        return []
    return rules


async def test_a_replica_gives_its_bucket_the_retention_rule_unless_told_not_to(
    start_replica: ReplicaFactory, s3_endpoint: str
) -> None:
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    for bucket in ("retained-audio", "managed-elsewhere"):
        client.create_bucket(Bucket=bucket)

    # The rule is in place before the replica says it is ready.
    start_replica(
        "lifecycle-on",
        s3_bucket="retained-audio",
        s3_endpoint_url=s3_endpoint,
        media_retention_days="5",
    )
    (rule,) = lifecycle_rules(s3_endpoint, "retained-audio")
    assert rule["Filter"] == {"Prefix": "audio/"} and rule["Expiration"] == {"Days": 5}
    assert rule["Status"] == "Enabled"

    start_replica(
        "lifecycle-off",
        s3_bucket="managed-elsewhere",
        s3_endpoint_url=s3_endpoint,
        s3_apply_lifecycle="false",
    )
    assert lifecycle_rules(s3_endpoint, "managed-elsewhere") == []
