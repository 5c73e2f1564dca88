"""Builds the TTS engine from explicit arguments (the lifespan passes values from ``Settings``)."""

from __future__ import annotations

from typing import Literal

import httpx

from app.providers.observer import ProviderObserver
from app.providers.retry import RetryPolicy
from app.providers.tts.base import TTS, TTSTimeouts
from app.providers.tts.elevenlabs import ElevenLabsTTS
from app.providers.tts.espeak import EspeakTTS
from app.providers.tts.none import NoTTS

TTSKind = Literal["elevenlabs", "offline", "none"]


def build_tts(
    kind: TTSKind,
    client: httpx.AsyncClient,
    *,
    elevenlabs_api_key: str | None = None,
    elevenlabs_base_url: str = "https://api.elevenlabs.io",
    elevenlabs_model: str = "eleven_flash_v2_5",
    elevenlabs_output_format: str = "mp3_44100_128",
    timeouts: TTSTimeouts | None = None,
    retry: RetryPolicy | None = None,
    observer: ProviderObserver | None = None,
) -> TTS:
    if kind == "none":
        return NoTTS()
    if kind == "offline":
        return EspeakTTS(timeout=(timeouts or TTSTimeouts()).first_byte, observer=observer)
    if not elevenlabs_api_key:
        # Asked for explicitly without a key: a configuration error, better found at start.
        raise ValueError("HOLO_TTS_PROVIDER=elevenlabs needs HOLO_ELEVENLABS_API_KEY")
    return ElevenLabsTTS(
        client,
        api_key=elevenlabs_api_key,
        base_url=elevenlabs_base_url,
        model_id=elevenlabs_model,
        output_format=elevenlabs_output_format,
        timeouts=timeouts,
        retry=retry,
        observer=observer,
    )


def voice_for(tts: TTS, *, voice_id: str, espeak_voice: str) -> str:
    """The companion's voice in the engine's own naming (catalogue: voice_id, espeak_voice)."""
    return espeak_voice if tts.provider == "espeak" else voice_id
