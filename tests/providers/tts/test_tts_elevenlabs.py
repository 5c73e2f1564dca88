"""ElevenLabs streaming TTS against its stand-in, over loopback HTTP."""

from __future__ import annotations

import io
from typing import Any

import httpx
import mutagen.mp3
import pytest

from app.config import Settings, TTSProvider
from app.providers.errors import ProviderTimeout, RateLimited, Rejected, StreamFailed, UpstreamError
from app.providers.retry import RetryPolicy
from app.providers.tts.base import TTSTimeouts
from app.providers.tts.elevenlabs import ElevenLabsTTS
from app.providers.tts.factory import build_tts
from app.providers.tts.none import NoTTS
from tests.stubs.elevenlabs import ElevenLabsStub
from tests.stubs.recording_observer import RecordingObserver

SENTENCE = "Let's start with what you already know about fractions."
VOICE = "21m00Tcm4TlvDq8ikWAM"
FAST_RETRY = RetryPolicy(attempts=3, initial_backoff=0.01, max_backoff=0.05, max_retry_after=1.0)


def make_tts(
    client: httpx.AsyncClient,
    stub: ElevenLabsStub,
    observer: RecordingObserver | None = None,
    *,
    api_key: str | None = None,
    timeouts: TTSTimeouts | None = None,
) -> ElevenLabsTTS:
    return ElevenLabsTTS(
        client,
        api_key=api_key or stub.api_key or "",
        base_url=stub.base_url,
        model_id="eleven_flash_v2_5",
        retry=FAST_RETRY,
        timeouts=timeouts,
        observer=observer,
    )


async def test_request_shape_and_streamed_audio(
    http_client: httpx.AsyncClient, voice_stub: ElevenLabsStub, observer: RecordingObserver
) -> None:
    voice_stub.profile.chunk_seconds = 0.05
    chunks: list[bytes] = []

    async with make_tts(http_client, voice_stub, observer).synthesize(SENTENCE, VOICE) as speech:
        async for chunk in speech:
            chunks.append(chunk)

    (request,) = voice_stub.requests
    assert request.path == f"/v1/text-to-speech/{VOICE}/stream"
    assert request.query == {"output_format": "mp3_44100_128"}
    assert request.headers["xi-api-key"] == voice_stub.api_key
    assert request.json == {"text": SENTENCE, "model_id": "eleven_flash_v2_5"}

    audio = b"".join(chunks)
    assert len(chunks) > 1  # it streamed
    assert audio == ElevenLabsStub.audio_for(SENTENCE)
    info: Any = mutagen.mp3.MP3(io.BytesIO(audio)).info
    assert (info.sample_rate, info.bitrate) == (44100, 128000)
    assert info.length > 0
    assert speech.content_type == "audio/mpeg"
    assert speech.characters == speech.characters_billed == len(SENTENCE)
    assert speech.ttfb_seconds is not None
    assert [p for p, _ in observer.first_bytes] == ["elevenlabs"]


async def test_retries_before_first_byte(
    http_client: httpx.AsyncClient, voice_stub: ElevenLabsStub, observer: RecordingObserver
) -> None:
    voice_stub.fail_next(429, retry_after="0")
    voice_stub.fail_next(500)

    async with make_tts(http_client, voice_stub, observer).synthesize(SENTENCE, VOICE) as speech:
        audio = await speech.read()

    assert audio == ElevenLabsStub.audio_for(SENTENCE)
    assert len(voice_stub.requests) == 3
    assert [(type(e), e.status) for _, _, e in observer.retries] == [
        (RateLimited, 429),
        (UpstreamError, 500),
    ]


async def test_no_retry_after_first_byte(
    http_client: httpx.AsyncClient, voice_stub: ElevenLabsStub
) -> None:
    voice_stub.fail_mid_stream(after=2)
    received = b""

    with pytest.raises(StreamFailed):
        async with make_tts(http_client, voice_stub).synthesize(SENTENCE, VOICE) as speech:
            async for chunk in speech:
                received += chunk

    assert received  # what arrived before the cut was delivered
    assert len(voice_stub.requests) == 1


async def test_bad_key_is_rejected_without_retry(
    http_client: httpx.AsyncClient, voice_stub: ElevenLabsStub
) -> None:
    with pytest.raises(Rejected) as info:
        async with make_tts(http_client, voice_stub, api_key="wrong").synthesize(SENTENCE, VOICE):
            pass

    assert info.value.status == 401 and info.value.message == "Invalid API key"
    assert len(voice_stub.requests) == 1


async def test_first_byte_timeout(
    http_client: httpx.AsyncClient, voice_stub: ElevenLabsStub
) -> None:
    voice_stub.profile.first_byte_delay = 5.0
    timeouts = TTSTimeouts(first_byte=0.2)

    with pytest.raises(ProviderTimeout):
        async with make_tts(http_client, voice_stub, timeouts=timeouts).synthesize(SENTENCE, VOICE):
            pass


async def test_between_chunks_timeout(
    http_client: httpx.AsyncClient, voice_stub: ElevenLabsStub
) -> None:
    voice_stub.profile.chunk_seconds = 0.05
    voice_stub.fail_mid_stream(after=1, mode="stall")
    timeouts = TTSTimeouts(between_chunks=0.2)

    with pytest.raises(StreamFailed, match="no audio within"):
        async with make_tts(http_client, voice_stub, timeouts=timeouts).synthesize(
            SENTENCE, VOICE
        ) as speech:
            await speech.read()


async def test_voice_off_and_factory(http_client: httpx.AsyncClient) -> None:
    tts = build_tts(Settings(tts_provider=TTSProvider.NONE), http_client)
    assert isinstance(tts, NoTTS) and not tts.enabled
    async with tts.synthesize(SENTENCE, VOICE) as speech:
        assert await speech.read() == b""
        assert speech.characters_billed == 0
    offline = build_tts(Settings(tts_provider=TTSProvider.ESPEAK), http_client)
    assert offline.provider == "espeak" and offline.content_type == "audio/wav"
    voices = {"elevenlabs": VOICE, "espeak": "en-gb"}
    assert offline.voice_for(voices, "en") == "en-gb"
    assert not offline.billed and not tts.billed
    with pytest.raises(ValueError, match="ELEVENLABS_API_KEY"):
        build_tts(Settings(tts_provider=TTSProvider.ELEVENLABS), http_client)
