"""Fixtures for the provider tests: one shared httpx client and a recording observer (the
vendor stand-ins, ``chat_stub`` and ``voice_stub``, are in tests/conftest.py)."""

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.stubs.recording_observer import RecordingObserver


@pytest.fixture(scope="session")
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def observer() -> RecordingObserver:
    return RecordingObserver()
