"""Builds the speech recognizer from the settings: the one place that maps them to a vendor."""

from __future__ import annotations

import httpx

from app.config import Settings, STTProvider
from app.providers.stt.base import STT, STTTimeouts
from app.providers.stt.deepgram import DeepgramSTT
from app.providers.stt.openai_compatible import OpenAICompatibleSTT
from app.providers.stt.pocketsphinx import PocketsphinxSTT


def build_stt(settings: Settings, client: httpx.AsyncClient) -> STT:
    timeouts = STTTimeouts(
        connect=settings.provider_connect_timeout_seconds,
        result=settings.stt_timeout_seconds,
    )
    kind = settings.effective_stt_provider
    if kind is STTProvider.OFFLINE:
        return PocketsphinxSTT()
    if kind is STTProvider.OPENAI:
        key = settings.stt_api_key
        if key is None or not key.get_secret_value():
            # Asked for explicitly without a key: a configuration error, better found at start.
            raise ValueError("HOLO_STT_PROVIDER=openai needs HOLO_STT_API_KEY")
        return OpenAICompatibleSTT(
            client,
            api_key=key.get_secret_value(),
            base_url=settings.stt_base_url,
            model=settings.stt_model,
            timeouts=timeouts,
        )
    key = settings.deepgram_api_key
    if key is None or not key.get_secret_value():
        raise ValueError("HOLO_STT_PROVIDER=deepgram needs HOLO_DEEPGRAM_API_KEY")
    return DeepgramSTT(
        api_key=key.get_secret_value(),
        base_url=settings.deepgram_base_url,
        model=settings.deepgram_model,
        timeouts=timeouts,
    )
