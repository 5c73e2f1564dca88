"""Builds the speech recognizer from explicit arguments (the lifespan passes ``Settings``)."""

from __future__ import annotations

from typing import Literal

import httpx

from app.providers.stt.base import STT, STTTimeouts
from app.providers.stt.deepgram import DeepgramSTT
from app.providers.stt.openai_compatible import OpenAICompatibleSTT
from app.providers.stt.pocketsphinx import PocketsphinxSTT

STTKind = Literal["offline", "openai", "deepgram"]


def build_stt(
    kind: STTKind,
    client: httpx.AsyncClient,
    *,
    api_key: str | None = None,
    base_url: str = "https://api.openai.com/v1",
    model: str = "whisper-1",
    deepgram_api_key: str | None = None,
    deepgram_base_url: str = "wss://api.deepgram.com",
    deepgram_model: str = "nova-3",
    timeouts: STTTimeouts | None = None,
) -> STT:
    if kind == "offline":
        return PocketsphinxSTT()
    if kind == "openai":
        if not api_key:
            raise ValueError("HOLO_STT_PROVIDER=openai needs HOLO_STT_API_KEY")
        return OpenAICompatibleSTT(
            client, api_key=api_key, base_url=base_url, model=model, timeouts=timeouts
        )
    if not deepgram_api_key:
        raise ValueError("HOLO_STT_PROVIDER=deepgram needs HOLO_DEEPGRAM_API_KEY")
    return DeepgramSTT(
        api_key=deepgram_api_key,
        base_url=deepgram_base_url,
        model=deepgram_model,
        timeouts=timeouts,
    )
