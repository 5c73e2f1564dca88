"""The errors every provider raises, so the reply pipeline can decide what the learner sees.

The class is the policy (as with kopf's TemporaryError/PermanentError): ``retryable`` errors are
retried before the first token or byte and never after it.
"""

from __future__ import annotations


class ProviderError(Exception):
    """A provider call failed; ``code`` is stable and safe to show in an ``ai-error`` event."""

    code = "provider_error"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        self.retry_after = retry_after

    def __str__(self) -> str:
        status = f" (HTTP {self.status})" if self.status is not None else ""
        return f"{self.provider}: {self.message}{status}"


class ProviderTimeout(ProviderError):
    """No connection, first token/byte or next chunk within its timeout. Not retried: the
    learner is already waiting, and a stalled upstream rarely recovers within a second try."""

    code = "timeout"


class RateLimited(ProviderError):
    """HTTP 429 (or an in-stream 429); ``retry_after`` is the upstream's hint in seconds."""

    code = "rate_limited"
    retryable = True


class UpstreamError(ProviderError):
    """HTTP 5xx, an in-stream 5xx, or the upstream unreachable before anything was received."""

    code = "upstream_error"
    retryable = True


class Rejected(ProviderError):
    """Any other 4xx: a wrong key, an unknown model or voice. Retrying cannot help."""

    code = "rejected"


class BadResponse(ProviderError):
    """The upstream answered, but not in the protocol we speak (not SSE, not JSON, no audio)."""

    code = "bad_response"


class StreamFailed(ProviderError):
    """The stream broke after the first token or byte. What was already delivered stands; the
    request is not retried, because a retry would repeat (and bill) text the learner has seen."""

    code = "stream_failed"


class StorageError(Exception):
    """Storing or addressing an object failed; the reply should go on as text with a notice."""

    code = "storage_unavailable"

    def __init__(self, message: str, *, backend: str) -> None:
        super().__init__(f"{backend}: {message}")
        self.backend = backend


def error_for_status(
    status: int, message: str, *, provider: str, retry_after: float | None = None
) -> ProviderError:
    """Map an HTTP status (or a status-like code found inside a stream) onto our vocabulary."""
    if status == 429:
        return RateLimited(message, provider=provider, status=status, retry_after=retry_after)
    if status >= 500:
        return UpstreamError(message, provider=provider, status=status, retry_after=retry_after)
    if status == 408:
        return ProviderTimeout(message, provider=provider, status=status)
    if status >= 400:
        return Rejected(message, provider=provider, status=status)
    return BadResponse(message, provider=provider, status=status)
