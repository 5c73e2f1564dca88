"""Provider usage per provider and model, per day and per month, and the monthly budgets.

Counts come from what the providers report (``UsageReport``, ``Speech``) and go to Redis (one
hash per period, incremented atomically in one MULTI) and to Prometheus. The budget totals count
only what is billed: the offline tutor and espeak-ng cost nothing and never use a budget up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from app.observability.metrics import Metrics
from app.providers.llm import UsageReport
from app.store import keys
from app.store.redis import Redis

LLM_TOTAL = "llm_tokens"
TTS_TOTAL = "tts_billed"


def periods(now: float) -> tuple[str, str]:
    """The month's and the day's period names (UTC) at ``now``."""
    when = datetime.fromtimestamp(now, UTC)
    return f"month:{when:%Y-%m}", f"day:{when:%Y-%m-%d}"


@dataclass(frozen=True)
class MonthlyUsage:
    llm_tokens: int
    tts_billed: int


class UsageStore:
    def __init__(
        self, redis: Redis, metrics: Metrics, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._redis = redis
        self._metrics = metrics
        self._clock = clock

    def periods(self) -> tuple[str, str]:
        return periods(self._clock())

    async def record_llm(self, report: UsageReport) -> None:
        prefix = f"llm:{report.provider}:{report.model}"
        fields = {
            f"{prefix}:prompt": report.prompt_tokens,
            f"{prefix}:completion": report.completion_tokens,
        }
        if not report.offline:
            fields[LLM_TOTAL] = report.prompt_tokens + report.completion_tokens
        await self._add(fields)
        self._metrics.llm_tokens.labels(report.model, "prompt").inc(report.prompt_tokens)
        self._metrics.llm_tokens.labels(report.model, "completion").inc(report.completion_tokens)

    async def record_tts(self, provider: str, *, characters: int, billed: int) -> None:
        await self._add(
            {
                f"tts:{provider}:characters": characters,
                f"tts:{provider}:billed": billed,
                TTS_TOTAL: billed,
            }
        )
        self._metrics.tts_characters.labels(provider).inc(characters)

    async def _add(self, fields: dict[str, int]) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            for period in self.periods():
                key = keys.usage(period)
                for field, amount in fields.items():
                    if amount:
                        pipe.hincrby(key, field, amount)
                pipe.expire(key, keys.USAGE_TTL)
            await pipe.execute()

    async def month(self) -> MonthlyUsage:
        llm, tts = await self._redis.hmget(keys.usage(self.periods()[0]), [LLM_TOTAL, TTS_TOTAL])
        return MonthlyUsage(llm_tokens=int(llm or 0), tts_billed=int(tts or 0))


class VoiceAllowance:
    """The characters one reply may still send to a billed voice before the cutoff."""

    def __init__(self, remaining: int | None) -> None:
        self._remaining = remaining  # None: no limit

    @property
    def exhausted(self) -> bool:
        return self._remaining is not None and self._remaining <= 0

    def take(self, characters: int) -> bool:
        if self._remaining is None:
            return True
        if characters > self._remaining:
            self._remaining = 0
            return False
        self._remaining -= characters
        return True


@dataclass(frozen=True)
class Budget:
    """Monthly limits; 0 means no limit. Voice turns off at ``tts_threshold`` of its budget."""

    llm_tokens: int
    tts_characters: int
    tts_threshold: float = 0.95

    def llm_exhausted(self, usage: MonthlyUsage) -> bool:
        return self.llm_tokens > 0 and usage.llm_tokens >= self.llm_tokens

    def voice_allowance(self, usage: MonthlyUsage, *, billed: bool) -> VoiceAllowance:
        if not billed or self.tts_characters <= 0:
            return VoiceAllowance(None)
        cutoff = int(self.tts_characters * self.tts_threshold)
        return VoiceAllowance(max(0, cutoff - usage.tts_billed))
