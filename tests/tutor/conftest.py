"""Fixtures for the tutor: the vendor stand-ins, moto's S3 server, and two replicas wired to
them through real Redis."""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.conftest import BASE_ENV, CHAT_KEY, VOICE_KEY
from tests.servers import RedisServer, Replica
from tests.stubs.elevenlabs import ElevenLabsStub
from tests.stubs.openai_chat import OpenAIChatStub

BUCKET = "holo-tutor-audio"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


# The session's stand-ins under the names the tutor (and e2e) tests use.
@pytest.fixture(scope="session")
def tutor_chat(chat_server: OpenAIChatStub) -> OpenAIChatStub:
    return chat_server


@pytest.fixture(scope="session")
def tutor_voice(voice_server: ElevenLabsStub) -> ElevenLabsStub:
    return voice_server


@pytest.fixture
def chat(chat_stub: OpenAIChatStub) -> OpenAIChatStub:
    return chat_stub


@pytest.fixture
def voice(voice_stub: ElevenLabsStub) -> ElevenLabsStub:
    return voice_stub


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server with the audio bucket; the replicas find its credentials in their
    environment (botocore's usual chain), as a pod would."""
    saved = {name: os.environ.get(name) for name in AWS_ENV}
    os.environ.update(AWS_ENV)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def tutor_env(
    chat: OpenAIChatStub, voice: ElevenLabsStub, s3_endpoint: str, **extra: str
) -> dict[str, str]:
    """HOLO_* settings of a replica whose tutor uses the stand-ins and moto (fast timeouts)."""
    env = {
        "llm_base_url": chat.base_url,
        "llm_api_key": CHAT_KEY,
        "llm_model": "stub/tutor-model",
        "tts_provider": "elevenlabs",
        "elevenlabs_api_key": VOICE_KEY,
        "elevenlabs_base_url": voice.base_url,
        "s3_bucket": BUCKET,
        "s3_endpoint_url": s3_endpoint,
        "llm_first_token_timeout_seconds": "2",
        "llm_chunk_timeout_seconds": "1",
        "tts_first_byte_timeout_seconds": "2",
        "tts_chunk_timeout_seconds": "1",
        "tutor_claim_timeout_seconds": "1.5",
        **extra,
    }
    return {f"HOLO_{k.upper()}": v for k, v in env.items()}


@pytest.fixture(scope="session")
def tutor_redis() -> Iterator[RedisServer]:
    """A Redis for replicas configured with the stand-ins. Every replica on a Redis takes reply
    jobs from the same consumer group, so the session's other replicas (the offline tutor of
    the realtime tests, say) must not share it: they would answer these tests' messages."""
    server = RedisServer().start()
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def tutor_cluster(
    tutor_redis: RedisServer,
    tutor_chat: OpenAIChatStub,
    tutor_voice: ElevenLabsStub,
    s3_endpoint: str,
) -> Iterator[tuple[Replica, Replica]]:
    """Two replicas sharing the tutor tests' Redis, for tests that stop nothing."""
    env = {**BASE_ENV, "HOLO_REDIS_URL": tutor_redis.url}
    env.update(tutor_env(tutor_chat, tutor_voice, s3_endpoint))
    a = Replica(name="tutor-a", env=env).start()
    b = Replica(name="tutor-b", env=env).start()
    yield a, b
    a.stop()
    b.stop()
