"""Any OpenAI-compatible streaming chat-completions endpoint: OpenRouter, OpenAI, Ollama, vLLM,
llama.cpp's server. Only the base URL (and the key, if the server wants one) differs.

SSE framing is httpx-sse's (comment lines such as ``: OPENROUTER PROCESSING`` are skipped and
multi-line ``data:`` fields joined, per the WHATWG parsing rules); this module interprets the
events: ``[DONE]``, text deltas, errors sent as data events after a 200, and the usage chunk that
``stream_options.include_usage`` adds at the end.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import httpx
from httpx_sse import EventSource, ServerSentEvent, SSEError
from pydantic import BaseModel, ConfigDict, ValidationError

from app.providers.errors import (
    BadResponse,
    ProviderError,
    UpstreamError,
    error_for_status,
)
from app.providers.http import StreamingHTTP, StreamTimeouts
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
from app.providers.retry import RetryPolicy


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
        self._reset()

    def _reset(self) -> None:
        self.done = False
        self.model: str | None = None
        self.usage: _Usage | None = None
        self.finish_reason: str | None = None
        self.text_chars = 0

    async def parse(self, response: httpx.Response) -> AsyncIterator[TextDelta]:
        """One attempt's response, as text deltas (the state starts afresh per attempt)."""
        self._reset()
        events = EventSource(response).aiter_sse()
        while not self.done:
            try:
                sse = await anext(events)
            except StopAsyncIteration:
                break
            except SSEError as exc:
                raise BadResponse(str(exc), provider=self.provider) from exc
            for delta in self.feed(sse):
                yield delta
        if not self.done and self.finish_reason is None:
            # After the first delta the base turns this into StreamFailed (not retried).
            raise UpstreamError(
                "stream ended before it was complete"
                if self.text_chars
                else "stream ended before the first token",
                provider=self.provider,
            )

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
        self._observer: ProviderObserver = observer or NullObserver()
        self._clock = clock
        self._headers = {"Accept": "text/event-stream", **(extra_headers or {})}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        t = timeouts or LLMTimeouts()
        self._http = StreamingHTTP(
            client,
            provider=provider,
            timeouts=StreamTimeouts(
                connect=t.connect, first=t.first_token, between=t.between_chunks
            ),
            retry=retry or RetryPolicy(),
            observer=self._observer,
            clock=clock,
            first_noun="first token",
            noun="chunk",
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

        def request() -> httpx.Request:
            return self._client.build_request(
                "POST", self._url, json=body, headers=self._headers, timeout=self._http.http_timeout
            )

        # Everything up to the first text delta may be retried; nothing after it.
        async with self._http.open(request, reader.parse) as stream:
            ttft = stream.first_seconds
            if ttft is not None:
                self._observer.first_token(
                    provider=self.provider, model=reader.model or self.model, seconds=ttft
                )
            async for delta in stream:
                yield delta

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
