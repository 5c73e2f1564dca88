"""Fixtures for the provider tests: the vendor stand-ins and one shared httpx client."""

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
# tests/ is not a package: put the repository root on the path so `tests.stubs` imports.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.stubs.elevenlabs import ElevenLabsStub  # noqa: E402
from tests.stubs.openai_chat import OpenAIChatStub  # noqa: E402
from tests.stubs.recording_observer import RecordingObserver  # noqa: E402

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
