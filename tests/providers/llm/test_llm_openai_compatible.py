"""The OpenAI-compatible LLM against the chat stand-in, over loopback HTTP."""

from __future__ import annotations

from contextlib import aclosing

import httpx
import pytest

from app.providers.errors import (
    BadResponse,
    ProviderTimeout,
    RateLimited,
    Rejected,
    StreamFailed,
    UpstreamError,
)
from app.providers.llm.base import ChatMessage, LLMEvent, LLMTimeouts, TextDelta, UsageReport
from app.providers.llm.openai_compatible import OpenAICompatibleLLM
from app.providers.retry import RetryPolicy
from tests.stubs.openai_chat import DEFAULT_REPLY, OpenAIChatStub
from tests.stubs.recording_observer import RecordingObserver

MESSAGES = [
    ChatMessage(role="system", content="You are Ada, a mathematics tutor."),
    ChatMessage(role="user", content="How do I solve 2x + 3 = 7?"),
]
FAST_RETRY = RetryPolicy(attempts=3, initial_backoff=0.01, max_backoff=0.05, max_retry_after=1.0)


def make_llm(
    client: httpx.AsyncClient,
    stub: OpenAIChatStub,
    observer: RecordingObserver | None = None,
    *,
    api_key: str | None = None,
    timeouts: LLMTimeouts | None = None,
) -> OpenAICompatibleLLM:
    return OpenAICompatibleLLM(
        client,
        base_url=stub.base_url + "/",
        model="google/gemini-2.5-flash",
        api_key=api_key or stub.api_key,
        retry=FAST_RETRY,
        observer=observer,
        timeouts=timeouts,
        extra_headers={"X-Title": "Holo Tutor Hub"},
    )


async def collect(llm: OpenAICompatibleLLM) -> list[LLMEvent]:
    return [event async for event in llm.stream(MESSAGES, max_tokens=200, temperature=0.3)]


def text_of(events: list[LLMEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


async def test_streams_text_then_reported_usage(
    http_client: httpx.AsyncClient, chat_stub: OpenAIChatStub, observer: RecordingObserver
) -> None:
    events = await collect(make_llm(http_client, chat_stub, observer))

    assert text_of(events) == DEFAULT_REPLY
    assert all(isinstance(e, TextDelta) and not e.offline for e in events[:-1])
    usage = events[-1]
    assert isinstance(usage, UsageReport)
    assert usage.completion_tokens == len(DEFAULT_REPLY.split())
    assert usage.prompt_tokens == sum(len(m.content.split()) for m in MESSAGES)
    assert not usage.estimated and not usage.offline
    assert usage.model == "google/gemini-2.5-flash"
    assert usage.finish_reason == "stop"
    assert usage.ttft_seconds is not None and usage.ttft_seconds <= usage.duration_seconds
    assert [(p, m) for p, m, _ in observer.first_tokens] == [
        ("openai_compatible", "google/gemini-2.5-flash")
    ]


async def test_request_shape(http_client: httpx.AsyncClient, chat_stub: OpenAIChatStub) -> None:
    await collect(make_llm(http_client, chat_stub))

    (request,) = chat_stub.requests
    assert request.path == "/chat/completions"
    assert request.headers["authorization"] == f"Bearer {chat_stub.api_key}"
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["x-title"] == "Holo Tutor Hub"
    assert request.json == {
        "model": "google/gemini-2.5-flash",
        "messages": [m.model_dump() for m in MESSAGES],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": 200,
        "temperature": 0.3,
    }


async def test_multiline_data_events_and_comments(
    http_client: httpx.AsyncClient, chat_stub: OpenAIChatStub
) -> None:
    chat_stub.profile.multiline_data = True
    chat_stub.profile.keepalive_comment = True

    events = await collect(make_llm(http_client, chat_stub))

    assert text_of(events) == DEFAULT_REPLY
    assert isinstance(events[-1], UsageReport) and not events[-1].estimated


async def test_retries_429_then_503_before_first_token(
    http_client: httpx.AsyncClient, chat_stub: OpenAIChatStub, observer: RecordingObserver
) -> None:
    chat_stub.fail_next(429, retry_after="0.05")
    chat_stub.fail_next(503)

    events = await collect(make_llm(http_client, chat_stub, observer))

    assert text_of(events) == DEFAULT_REPLY
    assert len(chat_stub.requests) == 3
    (a1, d1, e1), (a2, _, e2) = observer.retries
    assert (a1, d1, type(e1), e1.status) == (1, 0.05, RateLimited, 429)  # Retry-After honoured
    assert (a2, type(e2), e2.status) == (2, UpstreamError, 503)


async def test_retries_an_in_stream_error_before_first_token(
    http_client: httpx.AsyncClient, chat_stub: OpenAIChatStub, observer: RecordingObserver
) -> None:
    chat_stub.fail_mid_stream(after=0, mode="error_event", code=502)

    events = await collect(make_llm(http_client, chat_stub, observer))

    assert text_of(events) == DEFAULT_REPLY
    assert len(chat_stub.requests) == 2
    assert [type(e) for _, _, e in observer.retries] == [UpstreamError]


async def test_gives_up_after_the_attempts(
    http_client: httpx.AsyncClient, chat_stub: OpenAIChatStub
) -> None:
    chat_stub.fail_next(502, times=3)

    with pytest.raises(UpstreamError) as info:
        await collect(make_llm(http_client, chat_stub))

    assert info.value.status == 502 and info.value.code == "upstream_error"
    assert len(chat_stub.requests) == 3


async def test_a_long_retry_after_is_not_waited_for(
    http_client: httpx.AsyncClient, chat_stub: OpenAIChatStub
) -> None:
    chat_stub.fail_next(429, retry_after="120")

    with pytest.raises(RateLimited) as info:
        await collect(make_llm(http_client, chat_stub))

    assert info.value.retry_after == 120
    assert len(chat_stub.requests) == 1


async def test_client_errors_are_not_retried(
    http_client: httpx.AsyncClient, chat_stub: OpenAIChatStub
) -> None:
    with pytest.raises(Rejected) as info:
        await collect(make_llm(http_client, chat_stub, api_key="wrong"))

    assert info.value.status == 401
    assert "No auth credentials" in info.value.message
    assert len(chat_stub.requests) == 1


@pytest.mark.parametrize("mode", ["error_event", "disconnect"])
async def test_no_retry_after_first_token(
    http_client: httpx.AsyncClient, chat_stub: OpenAIChatStub, mode: str
) -> None:
    chat_stub.fail_mid_stream(after=3, mode=mode, code=502)
    received: list[str] = []

    with pytest.raises(StreamFailed) as info:
        async for event in make_llm(http_client, chat_stub).stream(MESSAGES):
            assert isinstance(event, TextDelta)
            received.append(event.text)

    assert "".join(received) == "Great question! Let's "
    assert len(chat_stub.requests) == 1
    if mode == "error_event":
        assert info.value.status == 502


async def test_first_token_timeout(
    http_client: httpx.AsyncClient, chat_stub: OpenAIChatStub
) -> None:
    chat_stub.profile.first_token_delay = 5.0
    timeouts = LLMTimeouts(first_token=0.2, between_chunks=5.0)

    with pytest.raises(ProviderTimeout):
        await collect(make_llm(http_client, chat_stub, timeouts=timeouts))

    assert len(chat_stub.requests) == 1  # timeouts are not retried


async def test_between_chunks_timeout_fails_the_stream(
    http_client: httpx.AsyncClient, chat_stub: OpenAIChatStub
) -> None:
    chat_stub.fail_mid_stream(after=2, mode="stall")
    timeouts = LLMTimeouts(first_token=5.0, between_chunks=0.2)

    with pytest.raises(StreamFailed, match="no chunk within"):
        await collect(make_llm(http_client, chat_stub, timeouts=timeouts))


async def test_connect_refused_is_an_upstream_error(http_client: httpx.AsyncClient) -> None:
    llm = OpenAICompatibleLLM(
        http_client, base_url="http://127.0.0.1:9", model="m", api_key="k", retry=FAST_RETRY
    )

    with pytest.raises(UpstreamError, match="unreachable"):
        await collect(llm)


async def test_not_an_event_stream_is_a_bad_response(
    http_client: httpx.AsyncClient, chat_stub: OpenAIChatStub
) -> None:
    chat_stub.profile.content_type = "application/json"

    with pytest.raises(BadResponse, match="text/event-stream"):
        await collect(make_llm(http_client, chat_stub))


async def test_usage_is_estimated_when_the_server_reports_none(
    http_client: httpx.AsyncClient, chat_stub: OpenAIChatStub
) -> None:
    chat_stub.profile.ignore_stream_options = True
    chat_stub.profile.reply = "Hello there"

    events = [
        e
        async for e in make_llm(http_client, chat_stub).stream(
            [ChatMessage(role="user", content="hi there")]
        )
    ]

    usage = events[-1]
    assert text_of(events) == "Hello there"
    assert isinstance(usage, UsageReport)
    assert usage.estimated and usage.finish_reason == "stop"
    assert (usage.prompt_tokens, usage.completion_tokens) == (2, 3)


async def test_closing_early_closes_the_stream(
    http_client: httpx.AsyncClient, chat_stub: OpenAIChatStub
) -> None:
    llm = make_llm(http_client, chat_stub)
    async with aclosing(llm.stream(MESSAGES)) as events:
        async for event in events:
            assert isinstance(event, TextDelta)
            break
    # The pool is free again: a second reply streams on the same client.
    assert text_of(await collect(llm)) == DEFAULT_REPLY
