"""HTTP helpers shared by the vendors that speak HTTP (the LLM and ElevenLabs modules)."""

from __future__ import annotations

import json

import httpx

from app.providers.errors import ProviderError, error_for_status
from app.providers.retry import parse_retry_after

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
