"""The streaming HTTP call every HTTP vendor makes (the LLM and TTS modules), and its helpers.

A vendor module builds its request and parses the response into items (text deltas, audio
chunks); ``StreamingHTTP`` does the rest, the same way for all of them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field

from app.providers.errors import (
    ProviderError,
    ProviderTimeout,
    StreamFailed,
    UpstreamError,
    error_for_status,
)
from app.providers.observer import ProviderObserver
from app.providers.retry import RetryPolicy, parse_retry_after, retrying

# Error bodies are read to show their message; anything longer is not a message.
_MAX_ERROR_BODY = 4096


async def error_from_response(response: httpx.Response, *, provider: str) -> ProviderError:
    """Turn a non-2xx streamed response into our error, reading a bounded part of its body."""
    body = b""
    try:
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) >= _MAX_ERROR_BODY:
                break
    except httpx.HTTPError:
        pass  # the status alone still says what happened
    finally:
        await response.aclose()
    return error_for_status(
        response.status_code,
        _message_from_body(body[:_MAX_ERROR_BODY]) or response.reason_phrase or "error",
        provider=provider,
        retry_after=parse_retry_after(response.headers.get("retry-after")),
    )


def _message_from_body(body: bytes) -> str:
    """OpenAI-style ``{"error": {"message"}}`` or ElevenLabs-style ``{"detail": {"message"}}``."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()[:300]
    if isinstance(data, dict):
        for field in ("error", "detail"):
            inner = data.get(field)
            if isinstance(inner, dict) and isinstance(inner.get("message"), str):
                return str(inner["message"])
            if isinstance(inner, str):
                return inner
    return json.dumps(data)[:300]


def request_timeout(*, connect: float, read: float) -> httpx.Timeout:
    """Per-request timeouts on the shared client; ``read`` is a backstop for our own deadlines."""
    return httpx.Timeout(connect=connect, read=read, write=connect, pool=connect)


T = TypeVar("T")


class StreamTimeouts(BaseModel):
    """Deadlines of one streamed call: ``first`` from the request to the first item (per attempt),
    ``between`` the longest silence once items flow, ``connect`` for the TCP/TLS handshake."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    connect: float = Field(gt=0)
    first: float = Field(gt=0)
    between: float = Field(gt=0)


class _NoItem:
    """The first item of a stream that ended cleanly before giving one (an empty reply)."""


_NO_ITEM = _NoItem()


@dataclass
class HTTPStream(Generic[T]):
    """An open streamed response: iterate it for its items (the first one already read)."""

    response: httpx.Response
    # From the request to the first item, retries included (None for a stream with no item).
    first_seconds: float | None
    _first: T | _NoItem
    _rest: AsyncIterator[T]
    _provider: str
    _between: float
    _noun: str

    async def __aiter__(self) -> AsyncIterator[T]:
        if isinstance(self._first, _NoItem):
            return
        yield self._first
        while True:
            try:
                async with asyncio.timeout(self._between):
                    item = await anext(self._rest)
            except StopAsyncIteration:
                return
            except TimeoutError as exc:
                raise StreamFailed(
                    f"no {self._noun} within {self._between:g}s", provider=self._provider
                ) from exc
            except httpx.HTTPError as exc:
                raise StreamFailed(f"connection lost: {exc!r}", provider=self._provider) from exc
            except ProviderError as exc:
                # After the first item the learner has seen part of the answer: not retryable.
                raise StreamFailed(exc.message, provider=self._provider, status=exc.status) from exc
            yield item


class StreamingHTTP:
    """The streaming half every HTTP vendor shares: send, map the status, wait for the first
    item within a deadline (retrying what is safe to retry until then), then time the silences
    between items and close the response when the caller leaves. A vendor supplies the request
    and a parser turning the response into items; the parser raises ``ProviderError``s for
    what it cannot read (before the first item they are retried if retryable)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        provider: str,
        timeouts: StreamTimeouts,
        retry: RetryPolicy,
        observer: ProviderObserver,
        clock: Callable[[], float] = time.monotonic,
        first_noun: str,
        noun: str,
    ) -> None:
        self.client = client
        self.provider = provider
        self.timeouts = timeouts
        # A backstop for our own deadlines, per request on the shared client.
        self.http_timeout = request_timeout(
            connect=timeouts.connect, read=max(timeouts.first, timeouts.between)
        )
        self._retry = retry
        self._observer = observer
        self._clock = clock
        self._first_noun = first_noun
        self._noun = noun

    @asynccontextmanager
    async def open(
        self,
        request: Callable[[], httpx.Request],
        parse: Callable[[httpx.Response], AsyncIterator[T]],
    ) -> AsyncIterator[HTTPStream[T]]:
        started = self._clock()
        opened: tuple[httpx.Response, AsyncIterator[T], T | _NoItem] | None = None
        async for attempt in retrying(self._retry, observer=self._observer):
            with attempt:
                opened = await self._attempt(request(), parse)
        assert opened is not None  # tenacity re-raises the last error otherwise
        response, rest, first = opened
        try:
            yield HTTPStream(
                response=response,
                first_seconds=None if isinstance(first, _NoItem) else self._clock() - started,
                _first=first,
                _rest=rest,
                _provider=self.provider,
                _between=self.timeouts.between,
                _noun=self._noun,
            )
        finally:
            await response.aclose()

    async def _attempt(
        self, request: httpx.Request, parse: Callable[[httpx.Response], AsyncIterator[T]]
    ) -> tuple[httpx.Response, AsyncIterator[T], T | _NoItem]:
        """One attempt: send, check the status, wait for the first item (or a clean end)."""
        provider = self.provider
        response: httpx.Response | None = None
        try:
            async with asyncio.timeout(self.timeouts.first):
                try:
                    response = await self.client.send(request, stream=True)
                except httpx.TimeoutException as exc:
                    raise ProviderTimeout("connection timed out", provider=provider) from exc
                except httpx.TransportError as exc:
                    raise UpstreamError(f"unreachable: {exc!r}", provider=provider) from exc
                if response.status_code != 200:
                    raise await error_from_response(response, provider=provider)
                items = parse(response)
                first: T | _NoItem
                try:
                    first = await anext(items)
                except StopAsyncIteration:
                    first = _NO_ITEM
                return response, items, first
        except TimeoutError as exc:
            await _close(response)
            raise ProviderTimeout(
                f"no {self._first_noun} within {self.timeouts.first:g}s", provider=provider
            ) from exc
        except httpx.HTTPError as exc:
            await _close(response)
            raise UpstreamError(f"connection lost: {exc!r}", provider=provider) from exc
        except BaseException:
            await _close(response)
            raise


async def _close(response: httpx.Response | None) -> None:
    if response is not None:
        await response.aclose()
