"""Builds the TTS engine the settings name: the one place that maps ``HOLO_*`` to a vendor.

A new vendor is its module (implementing ``TTS``), a branch here, its settings in
``app/config.py`` (and a ``TTSProvider`` member), and the same settings in the chart.
"""

from __future__ import annotations

import httpx

from app.config import Settings, TTSProvider
from app.providers.observer import ProviderObserver
from app.providers.retry import RetryPolicy
from app.providers.tts.base import TTS, TTSTimeouts
from app.providers.tts.elevenlabs import ElevenLabsTTS
from app.providers.tts.espeak import EspeakTTS
from app.providers.tts.none import NoTTS


def build_tts(
    settings: Settings, client: httpx.AsyncClient, *, observer: ProviderObserver | None = None
) -> TTS:
    timeouts = TTSTimeouts(
        connect=settings.provider_connect_timeout_seconds,
        first_byte=settings.tts_first_byte_timeout_seconds,
        between_chunks=settings.tts_chunk_timeout_seconds,
    )
    kind = settings.effective_tts_provider
    if kind is TTSProvider.NONE:
        return NoTTS()
    if kind is TTSProvider.ESPEAK:
        return EspeakTTS(timeout=timeouts.first_byte, observer=observer)
    key = settings.elevenlabs_api_key
    if key is None or not key.get_secret_value():
        # Asked for explicitly without a key: a configuration error, better found at start.
        raise ValueError("HOLO_TTS_PROVIDER=elevenlabs needs HOLO_ELEVENLABS_API_KEY")
    return ElevenLabsTTS(
        client,
        api_key=key.get_secret_value(),
        base_url=settings.elevenlabs_base_url,
        model_id=settings.elevenlabs_model,
        timeouts=timeouts,
        retry=RetryPolicy(attempts=settings.tts_max_attempts),
        observer=observer,
    )
