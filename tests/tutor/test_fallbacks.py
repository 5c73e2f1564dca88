"""The reply when parts are missing: storage down (text with a notice, never a lost reply), and
nothing configured at all (the offline tutor, espeak-ng, the local media directory)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from mutagen.wave import WAVE

from app.providers.llm.base import Persona
from app.providers.llm.offline import compose_reply
from tests.clients import SocketClient
from tests.conftest import BASE_ENV, ReplicaFactory
from tests.servers import RedisServer
from tests.stubs.elevenlabs import ElevenLabsStub
from tests.stubs.openai_chat import DEFAULT_REPLY, OpenAIChatStub
from tests.tutor.conftest import tutor_env
from tests.tutor.room import open_room, reply_done


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer().start()  # its own: other tutor replicas must not take its jobs
    yield server
    server.cleanup()


async def test_storage_down_completes_the_reply_as_text_with_a_notice(
    own_redis: RedisServer,
    chat: OpenAIChatStub,
    voice: ElevenLabsStub,
    s3_endpoint: str,
    start_replica: ReplicaFactory,
    sockets: Callable[..., SocketClient],
) -> None:
    # A bucket that does not exist: every put fails the way an unreachable store does.
    env = tutor_env(chat, voice, s3_endpoint, s3_bucket="no-such-bucket")
    replica = start_replica(
        "storage-down",
        own_redis.url,
        **{k.removeprefix("HOLO_").lower(): v for k, v in env.items()},
    )
    room = await open_room(sockets, replica.url)
    await room.say("What is a prime?", "q1")
    events = await reply_done(room.learner)
    assert events.message["text"] == DEFAULT_REPLY
    assert [n["code"] for n in events.notices] == ["storage_unavailable"]
    assert events.message["metadata"]["voice_off"] == "storage_unavailable"
    assert not events.audio and "audio_urls" not in events.message


async def test_offline_tutor_with_local_voice_and_media(
    tmp_path: Path, start_replica: ReplicaFactory, sockets: Callable[..., SocketClient]
) -> None:
    """`make run` with nothing set: no Redis, no keys, no bucket."""
    replica = start_replica("offline", media_dir=str(tmp_path))
    assert "HOLO_LLM_API_KEY" not in BASE_ENV
    room = await open_room(sockets, replica.url, companion="ada-math")
    question = "How do I add fractions?"
    await room.say(question, "q1")
    events = await reply_done(room.learner)
    message = events.message
    assert message["metadata"]["offline"] is True
    expected = compose_reply(
        Persona(name="Ada", subject="mathematics", level="secondary"), question
    )
    assert message["text"] == events.text == expected
    assert "offline practice mode" in message["text"]
    assert events.audio and [a["url"] for a in events.audio] == message["audio_urls"]
    async with httpx.AsyncClient(base_url=replica.url, timeout=10) as http:
        for clip in events.audio:
            assert clip["url"].startswith("/media/")
            r = await http.get(clip["url"])
            assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
            assert WAVE(io.BytesIO(r.content)).info.length > 0
            # A signed URL: altered, it is refused.
            assert (await http.get(clip["url"].replace("sig=", "sig=x"))).status_code == 403
