"""Any OpenAI-compatible streaming chat-completions endpoint: OpenRouter, OpenAI, Ollama, vLLM,
llama.cpp's server. Only the base URL (and the key, if the server wants one) differs.

SSE framing is httpx-sse's (comment lines such as ``: OPENROUTER PROCESSING`` are skipped and
multi-line ``data:`` fields joined, per the WHATWG parsing rules); this module interprets the
events: ``[DONE]``, text deltas, errors sent as data events after a 200, and the usage chunk that
``stream_options.include_usage`` adds at the end.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import EventSource, ServerSentEvent, SSEError
from pydantic import BaseModel, ConfigDict, ValidationError

from app.providers.errors import (
    BadResponse,
    ProviderError,
    ProviderTimeout,
    StreamFailed,
    UpstreamError,
    error_for_status,
)
from app.providers.http import error_from_response, request_timeout
from app.providers.llm.base import (
    ChatMessage,
    LLMEvent,
    LLMTimeouts,
    Persona,
    TextDelta,
    UsageReport,
    estimate_tokens,
)
from app.providers.observer import NullObserver, ProviderObserver
from app.providers.retry import RetryPolicy, retrying


class _Lenient(BaseModel):
    # Vendors add fields freely (OpenRouter: provider, reasoning, native_finish_reason...).
    model_config = ConfigDict(extra="ignore")


class _Delta(_Lenient):
    content: str | None = None


class _Choice(_Lenient):
    delta: _Delta | None = None
    finish_reason: str | None = None


class _Usage(_Lenient):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class _ErrorBody(_Lenient):
    code: int | str | None = None
    message: str = "error in stream"


class _Chunk(_Lenient):
    model: str | None = None
    choices: list[_Choice] = []
    usage: _Usage | None = None
    error: _ErrorBody | None = None


def _in_stream_error(error: _ErrorBody, *, provider: str) -> ProviderError:
    """An error sent as a data event after a 200: its code is an HTTP status or a word."""
    code = error.code
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    if isinstance(code, int) and 400 <= code < 600:
        return error_for_status(code, error.message, provider=provider)
    word = str(code or "").lower()
    if "rate" in word or "quota" in word:
        return error_for_status(429, error.message, provider=provider)
    if "invalid" in word or "context_length" in word:
        return error_for_status(400, error.message, provider=provider)
    # Unknown words ("server_error", "overloaded"): the upstream failed, not our request.
    return UpstreamError(error.message, provider=provider)


class _ChunkReader:
    """Turns SSE events into text deltas while collecting usage, model and finish reason."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.done = False
        self.model: str | None = None
        self.usage: _Usage | None = None
        self.finish_reason: str | None = None
        self.text_chars = 0

    def feed(self, sse: ServerSentEvent) -> list[TextDelta]:
        data = sse.data.strip()
        if not data:
            return []
        if data == "[DONE]":
            self.done = True
            return []
        try:
            chunk = _Chunk.model_validate_json(data)
        except ValidationError as exc:
            raise BadResponse(
                f"unreadable stream chunk: {data[:120]!r}", provider=self.provider
            ) from exc
        if chunk.error is not None:
            raise _in_stream_error(chunk.error, provider=self.provider)
        if chunk.model:
            self.model = chunk.model
        if chunk.usage is not None:
            self.usage = chunk.usage
        deltas = []
        for choice in chunk.choices:
            if choice.delta is not None and choice.delta.content:
                deltas.append(TextDelta(text=choice.delta.content))
                self.text_chars += len(choice.delta.content)
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
        return deltas


@dataclass
class _OpenStream:
    response: httpx.Response
    events: AsyncIterator[ServerSentEvent]
    first: list[TextDelta]


class OpenAICompatibleLLM:
    offline = False

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        provider: str = "openai_compatible",
        timeouts: LLMTimeouts | None = None,
        retry: RetryPolicy | None = None,
        observer: ProviderObserver | None = None,
        extra_headers: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.provider = provider
        self.model = model
        self._client = client
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._timeouts = timeouts or LLMTimeouts()
        self._retry = retry or RetryPolicy()
        self._observer: ProviderObserver = observer or NullObserver()
        self._clock = clock
        self._headers = {"Accept": "text/event-stream", **(extra_headers or {})}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._http_timeout = request_timeout(
            connect=self._timeouts.connect,
            read=max(self._timeouts.first_token, self._timeouts.between_chunks),
        )

    def _body(
        self, messages: Sequence[ChatMessage], max_tokens: int | None, temperature: float | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [m.model_dump() for m in messages],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if temperature is not None:
            body["temperature"] = temperature
        return body

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        persona: Persona | None = None,  # the prompt already carries it
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> AsyncGenerator[LLMEvent, None]:
        body = self._body(messages, max_tokens, temperature)
        started = self._clock()
        reader = _ChunkReader(self.provider)
        opened: _OpenStream | None = None
        # Everything up to the first text delta may be retried; nothing after it.
        async for attempt in retrying(self._retry, observer=self._observer):
            with attempt:
                reader = _ChunkReader(self.provider)
                opened = await self._open(body, reader)
        assert opened is not None  # tenacity re-raises the last error otherwise

        ttft: float | None = None
        try:
            for delta in opened.first:
                if ttft is None:
                    ttft = self._clock() - started
                    self._observer.first_token(
                        provider=self.provider, model=reader.model or self.model, seconds=ttft
                    )
                yield delta
            while not reader.done:
                try:
                    async with asyncio.timeout(self._timeouts.between_chunks):
                        sse = await anext(opened.events)
                except StopAsyncIteration:
                    break
                except TimeoutError as exc:
                    raise StreamFailed(
                        f"no chunk within {self._timeouts.between_chunks:g}s",
                        provider=self.provider,
                    ) from exc
                except httpx.HTTPError as exc:
                    raise StreamFailed(f"connection lost: {exc!r}", provider=self.provider) from exc
                try:
                    deltas = reader.feed(sse)
                except ProviderError as exc:
                    raise StreamFailed(
                        exc.message, provider=self.provider, status=exc.status
                    ) from exc
                for delta in deltas:
                    yield delta
            if not reader.done and reader.finish_reason is None and reader.text_chars:
                raise StreamFailed("stream ended before it was complete", provider=self.provider)
        finally:
            await opened.response.aclose()

        usage = reader.usage
        yield UsageReport(
            provider=self.provider,
            model=reader.model or self.model,
            prompt_tokens=usage.prompt_tokens
            if usage
            else sum(estimate_tokens(m.content) for m in messages),
            completion_tokens=usage.completion_tokens
            if usage
            else estimate_tokens("x" * reader.text_chars),
            estimated=usage is None,
            finish_reason=reader.finish_reason,
            ttft_seconds=ttft,
            duration_seconds=self._clock() - started,
        )

    async def _open(self, body: dict[str, Any], reader: _ChunkReader) -> _OpenStream:
        """One attempt: send, check the status, read until the first text delta (or the end)."""
        request = self._client.build_request(
            "POST", self._url, json=body, headers=self._headers, timeout=self._http_timeout
        )
        response: httpx.Response | None = None
        try:
            async with asyncio.timeout(self._timeouts.first_token):
                try:
                    response = await self._client.send(request, stream=True)
                except httpx.TimeoutException as exc:
                    raise ProviderTimeout("connection timed out", provider=self.provider) from exc
                except httpx.TransportError as exc:
                    raise UpstreamError(f"unreachable: {exc!r}", provider=self.provider) from exc
                if response.status_code != 200:
                    raise await error_from_response(response, provider=self.provider)
                events = EventSource(response).aiter_sse()
                first: list[TextDelta] = []
                while not first and not reader.done:
                    try:
                        sse = await anext(events)
                    except StopAsyncIteration:
                        if reader.finish_reason is None:
                            raise UpstreamError(
                                "stream ended before the first token", provider=self.provider
                            ) from None
                        break
                    first = reader.feed(sse)
                return _OpenStream(response, events, first)
        except TimeoutError as exc:
            if response is not None:
                await response.aclose()
            raise ProviderTimeout(
                f"no first token within {self._timeouts.first_token:g}s", provider=self.provider
            ) from exc
        except SSEError as exc:
            if response is not None:
                await response.aclose()
            raise BadResponse(str(exc), provider=self.provider) from exc
        except httpx.HTTPError as exc:
            if response is not None:
                await response.aclose()
            raise UpstreamError(f"connection lost: {exc!r}", provider=self.provider) from exc
        except BaseException:
            if response is not None:
                await response.aclose()
            raise
