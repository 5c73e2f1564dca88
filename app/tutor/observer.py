"""The providers' timings into Prometheus (``ProviderObserver``, see app/providers/observer.py)."""

from __future__ import annotations

import logging

from app.observability.metrics import Metrics
from app.providers.errors import ProviderError

log = logging.getLogger(__name__)


class MetricsObserver:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def first_token(self, *, provider: str, model: str, seconds: float) -> None:
        self._metrics.llm_ttft.observe(seconds)

    def first_byte(self, *, provider: str, seconds: float) -> None:
        self._metrics.tts_ttfb.observe(seconds)

    def retrying(self, *, provider: str, attempt: int, delay: float, error: ProviderError) -> None:
        log.info(
            "%s attempt %d failed (%s); retrying in %.2fs", provider, attempt, error.code, delay
        )
