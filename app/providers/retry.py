"""Retries with backoff for the part of a provider call that is safe to repeat.

Built on tenacity (well kept, typed, asyncio-native) rather than a hand-written loop: its
``AsyncRetrying`` lets a caller retry just the block that opens a stream and waits for the first
token or byte, and keep the stream it opened once that block succeeds. Only ``retryable``
``ProviderError``s are retried (429, 5xx, unreachable); a ``Retry-After`` hint replaces the
backoff, and one longer than we are willing to keep a learner waiting ends the retries at once.
"""

from __future__ import annotations

import email.utils
import time

from pydantic import BaseModel, ConfigDict, Field
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_any, stop_base
from tenacity.wait import wait_random_exponential

from app.providers.errors import ProviderError
from app.providers.observer import ProviderObserver


class RetryPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    attempts: int = Field(default=3, ge=1, le=10)
    initial_backoff: float = Field(default=0.25, ge=0)
    max_backoff: float = Field(default=2.0, ge=0)
    # A Retry-After beyond this is not waited for: the error surfaces with its retry_after.
    max_retry_after: float = Field(default=5.0, ge=0)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds (fractions accepted) or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _error_of(state: RetryCallState) -> ProviderError | None:
    if state.outcome is None or not state.outcome.failed:
        return None
    error = state.outcome.exception()
    return error if isinstance(error, ProviderError) else None


class _RetryAfterTooLong(stop_base):
    def __init__(self, limit: float) -> None:
        self.limit = limit

    def __call__(self, state: RetryCallState) -> bool:
        error = _error_of(state)
        return bool(error and error.retry_after and error.retry_after > self.limit)


def retrying(policy: RetryPolicy, *, observer: ProviderObserver) -> AsyncRetrying:
    """A tenacity controller for ``async for attempt in retrying(...): with attempt: ...``."""
    # Full jitter (AWS's advice): replicas retrying together do not stay in step.
    backoff = wait_random_exponential(multiplier=policy.initial_backoff, max=policy.max_backoff)

    def wait(state: RetryCallState) -> float:
        error = _error_of(state)
        if error is not None and error.retry_after is not None:
            return error.retry_after
        return float(backoff(state))

    def before_sleep(state: RetryCallState) -> None:
        error = _error_of(state)
        if error is not None and state.next_action is not None:
            observer.retrying(
                provider=error.provider,
                attempt=state.attempt_number,
                delay=state.next_action.sleep,
                error=error,
            )

    return AsyncRetrying(
        stop=stop_any(
            stop_after_attempt(policy.attempts), _RetryAfterTooLong(policy.max_retry_after)
        ),
        wait=wait,
        retry=retry_if_exception(lambda e: isinstance(e, ProviderError) and e.retryable),
        before_sleep=before_sleep,
        reraise=True,
    )
