"""Fixtures for the provider tests: the vendor stand-ins and one shared httpx client."""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.stubs.elevenlabs import ElevenLabsStub
from tests.stubs.openai_chat import OpenAIChatStub
from tests.stubs.recording_observer import RecordingObserver

CHAT_KEY = "sk-test-chat"
VOICE_KEY = "xi-test-voice"


@pytest.fixture(scope="session")
def chat_server() -> Iterator[OpenAIChatStub]:
    with OpenAIChatStub(api_key=CHAT_KEY) as stub:
        yield stub


@pytest.fixture
def chat_stub(chat_server: OpenAIChatStub) -> Iterator[OpenAIChatStub]:
    chat_server.reset()
    yield chat_server
    chat_server.reset()


@pytest.fixture(scope="session")
def voice_server() -> Iterator[ElevenLabsStub]:
    with ElevenLabsStub(api_key=VOICE_KEY) as stub:
        yield stub


@pytest.fixture
def voice_stub(voice_server: ElevenLabsStub) -> Iterator[ElevenLabsStub]:
    voice_server.reset()
    yield voice_server
    voice_server.reset()


@pytest.fixture(scope="session")
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def observer() -> RecordingObserver:
    return RecordingObserver()
