"""How providers report timings without owning metrics.

Providers create no Prometheus objects (metrics are global state; the app registers them once in
``app/observability``). They call an observer instead; the pipeline passes one that records
``holo_llm_ttft_seconds`` and ``holo_tts_ttfb_seconds``. Usage counters come from the final
records (``UsageReport``, ``Speech.characters``) rather than from here.
"""

from __future__ import annotations

from typing import Protocol

from app.providers.errors import ProviderError


class ProviderObserver(Protocol):
    def first_token(self, *, provider: str, model: str, seconds: float) -> None:
        """An LLM stream yielded text, ``seconds`` after the request (retries included)."""

    def first_byte(self, *, provider: str, seconds: float) -> None:
        """A TTS stream produced its first audio bytes, ``seconds`` after the request."""

    def retrying(self, *, provider: str, attempt: int, delay: float, error: ProviderError) -> None:
        """Attempt ``attempt`` failed with a retryable error; the next starts after ``delay``."""


class NullObserver:
    def first_token(self, *, provider: str, model: str, seconds: float) -> None:
        pass

    def first_byte(self, *, provider: str, seconds: float) -> None:
        pass

    def retrying(self, *, provider: str, attempt: int, delay: float, error: ProviderError) -> None:
        pass
