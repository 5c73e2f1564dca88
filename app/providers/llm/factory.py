"""Builds the LLM from explicit arguments (the lifespan passes values from ``Settings``)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from app.providers.llm.base import LLM, LLMTimeouts
from app.providers.llm.offline import OfflineTutorLLM
from app.providers.llm.openai_compatible import OpenAICompatibleLLM
from app.providers.observer import ProviderObserver
from app.providers.retry import RetryPolicy


def build_llm(
    client: httpx.AsyncClient,
    *,
    base_url: str,
    model: str,
    api_key: str | None,
    timeouts: LLMTimeouts | None = None,
    retry: RetryPolicy | None = None,
    observer: ProviderObserver | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> LLM:
    """No key means the offline tutor. A local server without auth (Ollama, llama.cpp) still
    needs some key set (any value) to be used, so that "no key" keeps meaning "offline"."""
    if not api_key:
        return OfflineTutorLLM()
    return OpenAICompatibleLLM(
        client,
        base_url=base_url,
        model=model,
        api_key=api_key,
        timeouts=timeouts,
        retry=retry,
        observer=observer,
        extra_headers=extra_headers,
    )
