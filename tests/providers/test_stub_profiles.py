"""The stand-ins' benchmark profiles and helpers work end to end (no timing assertions: the
benchmark measures; here we check that the knobs are wired and the output is still right)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from app.providers.errors import StorageError
from app.providers.llm.base import ChatMessage, TextDelta, UsageReport
from app.providers.llm.openai_compatible import OpenAICompatibleLLM
from app.providers.storage.local import LocalStorage
from app.providers.tts.elevenlabs import ElevenLabsTTS
from tests.stubs.elevenlabs import ElevenLabsStub, VoiceProfile
from tests.stubs.openai_chat import ChatProfile, OpenAIChatStub
from tests.stubs.recording_observer import RecordingObserver
from tests.stubs.slow_storage import SlowStorage


async def test_llm_benchmark_profile(
    http_client: httpx.AsyncClient, chat_stub: OpenAIChatStub, observer: RecordingObserver
) -> None:
    chat_stub.profile = ChatProfile.benchmark()
    chat_stub.profile.reply = "One two three four five six."
    llm = OpenAICompatibleLLM(
        http_client,
        base_url=chat_stub.base_url,
        model="m",
        api_key=chat_stub.api_key,
        observer=observer,
    )

    events = [e async for e in llm.stream([ChatMessage(role="user", content="hi")])]

    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == chat_stub.profile.reply
    assert isinstance(events[-1], UsageReport) and events[-1].completion_tokens == 6
    assert len(observer.first_tokens) == 1


async def test_tts_benchmark_profile(
    http_client: httpx.AsyncClient, voice_stub: ElevenLabsStub, observer: RecordingObserver
) -> None:
    voice_stub.profile = VoiceProfile.benchmark()
    tts = ElevenLabsTTS(
        http_client,
        api_key=voice_stub.api_key or "",
        base_url=voice_stub.base_url,
        observer=observer,
    )

    async with tts.synthesize("A short sentence.", "voice") as speech:
        audio = await speech.read()

    assert audio == ElevenLabsStub.audio_for("A short sentence.", voice_stub.profile)
    assert len(observer.first_bytes) == 1


async def test_slow_storage_switch(tmp_path: Path) -> None:
    storage = SlowStorage(LocalStorage(tmp_path, secret=b"0123456789abcdef"), latency=0)
    assert (await storage.put("a/0.mp3", b"x", "audio/mpeg")).startswith("/media/a/0.mp3?")
    storage.down = True
    with pytest.raises(StorageError):
        await storage.put("a/1.mp3", b"x", "audio/mpeg")
    assert storage.puts == [("a/0.mp3", 1, "audio/mpeg")]
