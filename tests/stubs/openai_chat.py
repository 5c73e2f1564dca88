"""An OpenAI-compatible streaming chat-completions server (OpenRouter's flavour of SSE).

    with OpenAIChatStub(api_key="k") as stub:
        stub.profile.first_token_delay = 0.3; stub.profile.tokens_per_second = 40
        stub.fail_next(429, retry_after="0"); stub.fail_mid_stream(after=3)
        ... POST {stub.base_url}/chat/completions ...
        stub.requests[-1].json["messages"]
        stub.profile.replies["You write session summaries"] = "Topics: ..."  # by system prompt

Every token is one word (with its trailing space). Before the first token it sends an SSE
comment, as OpenRouter does while a model is queued; with ``multiline_data`` each JSON chunk is
spread over several ``data:`` lines.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.stubs.plans import FailMidStream, FailWithStatus, Planner, RecordedRequest
from tests.stubs.server import BackgroundServer

DEFAULT_REPLY = (
    "Great question! Let's think about it step by step. What do you already know about the "
    "two sides of the equation? Try moving the constant term first. What do you get?"
)
_TOKEN = re.compile(r"\S+\s*")


@dataclass
class ChatProfile:
    reply: str = DEFAULT_REPLY
    first_token_delay: float = 0.0
    # None: as fast as the socket takes them.
    tokens_per_second: float | None = None
    keepalive_comment: bool = True
    multiline_data: bool = False
    prompt_tokens: int | None = None  # None: counted from the request's words
    # Older llama.cpp servers ignore stream_options and never report usage.
    ignore_stream_options: bool = False
    # Anything but text/event-stream: a server (or proxy) that does not speak SSE.
    content_type: str = "text/event-stream"
    # Replies by request: when the system message contains a key, the reply is its value.
    replies: dict[str, str] = field(default_factory=dict)

    def reply_for(self, body: dict[str, Any]) -> str:
        messages = body.get("messages") or [{}]
        system = str(messages[0].get("content", "")) if isinstance(messages, list) else ""
        return next((r for key, r in self.replies.items() if key in system), self.reply)

    @classmethod
    def benchmark(cls) -> ChatProfile:
        """The issue's reference profile: first token after 300 ms, then 40 tokens/s."""
        return cls(first_token_delay=0.3, tokens_per_second=40.0)


class DisconnectError(Exception):
    """Raised inside the response body so uvicorn cuts the connection mid-stream."""


class OpenAIChatStub:
    def __init__(self, *, api_key: str | None = None, profile: ChatProfile | None = None) -> None:
        self.api_key = api_key
        self.profile = profile or ChatProfile()
        self.requests: list[RecordedRequest] = []
        self._plans = Planner()
        app = Starlette(routes=[Route("/chat/completions", self._chat, methods=["POST"])])
        self._server = BackgroundServer(app)
        self.base_url = self._server.url

    # -- controls -------------------------------------------------------------------------------

    def fail_next(self, status: int, *, times: int = 1, retry_after: str | None = None) -> None:
        self._plans.add(FailWithStatus(status, retry_after), times)

    def fail_mid_stream(
        self, *, after: int, mode: str = "disconnect", code: int | str = 502, times: int = 1
    ) -> None:
        self._plans.add(FailMidStream(after, mode, code), times)  # type: ignore[arg-type]

    def reset(self) -> None:
        self._plans.clear()
        self.requests.clear()
        self.profile = ChatProfile()

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> OpenAIChatStub:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> OpenAIChatStub:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- the endpoint ---------------------------------------------------------------------------

    async def _chat(self, request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.url.path,
                query=dict(request.query_params),
                headers=dict(request.headers),
                json=body,
            )
        )
        if self.api_key is not None and request.headers.get("authorization") != (
            f"Bearer {self.api_key}"
        ):
            return _error(401, "No auth credentials found")
        plan = self._plans.take()
        if isinstance(plan, FailWithStatus):
            headers = {"Retry-After": plan.retry_after} if plan.retry_after is not None else {}
            return _error(plan.status, plan.message, headers)
        profile = self.profile  # a snapshot: a test may swap it while this request streams
        return StreamingResponse(self._events(body, profile, plan), media_type=profile.content_type)

    async def _events(
        self, body: dict[str, Any], profile: ChatProfile, plan: FailMidStream | None
    ) -> AsyncIterator[str]:
        model = str(body.get("model", "stub-model"))
        created = int(time.time())
        base = {"id": "gen-stub", "object": "chat.completion.chunk", "created": created}

        def chunk(**fields: Any) -> str:
            data = json.dumps(
                {**base, "model": model, **fields}, indent=1 if profile.multiline_data else None
            )
            return "".join(f"data: {line}\n" for line in data.split("\n")) + "\n"

        started = time.monotonic()
        if profile.keepalive_comment:
            yield ": OPENROUTER PROCESSING\n\n"
        yield chunk(
            choices=[
                {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
            ]
        )
        tokens = _TOKEN.findall(profile.reply_for(body))
        for i, token in enumerate(tokens):
            if plan is not None and i == plan.after:
                async for part in self._fail(plan, chunk):
                    yield part
                return
            due = started + profile.first_token_delay
            if profile.tokens_per_second:
                due += i / profile.tokens_per_second
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            yield chunk(choices=[{"index": 0, "delta": {"content": token}, "finish_reason": None}])
        if plan is not None:  # planned after the last token: fail before finishing
            async for part in self._fail(plan, chunk):
                yield part
            return
        yield chunk(choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}])
        wants_usage = (body.get("stream_options") or {}).get("include_usage")
        if wants_usage and not profile.ignore_stream_options:
            prompt = profile.prompt_tokens
            if prompt is None:
                prompt = sum(
                    len(str(m.get("content", "")).split()) for m in body.get("messages", [])
                )
            usage = {
                "prompt_tokens": prompt,
                "completion_tokens": len(tokens),
                "total_tokens": prompt + len(tokens),
            }
            yield chunk(choices=[], usage=usage)
        yield "data: [DONE]\n\n"

    async def _fail(self, plan: FailMidStream, chunk: Any) -> AsyncIterator[str]:
        if plan.mode == "error_event":
            yield chunk(
                error={"code": plan.code, "message": plan.message},
                choices=[{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
            )
        elif plan.mode == "stall":
            await asyncio.sleep(30)  # the client's chunk timeout fires long before this
        else:
            raise DisconnectError(plan.message)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "code": status}}, status_code=status, headers=headers
    )
