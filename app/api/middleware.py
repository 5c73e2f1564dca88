"""Pure ASGI middleware around every HTTP request: the request id, metrics, and rate limiting.

Pure ASGI (not BaseHTTPMiddleware) so that streaming responses and the Socket.IO long-poll are not
buffered, and so the request id is in the context of every log line the request writes.
"""

from __future__ import annotations

import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import error_response, unexpected_error_response
from app.observability.logging import request_id_var
from app.observability.metrics import Metrics
from app.store.redis import UNAVAILABLE_ERRORS

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class RequestContextMiddleware:
    """Takes X-Request-ID from the caller when it is sane, else makes one; returns it; records
    the request in the metrics under its route template (never the raw path, which would let a
    client create unbounded label values)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        status_sent = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, status_sent
            if message["type"] == "http.response.start":
                status = message["status"]
                status_sent = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if status_sent:
                raise  # too late for an error response; uvicorn closes the connection
            response = unexpected_error_response(exc, self.metrics, scope["method"], scope["path"])
            await response(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.http_requests.labels(scope["method"], template, str(status)).inc()
            self.metrics.http_duration.labels(template).observe(time.perf_counter() - started)
            request_id_var.reset(token)


class RateLimitMiddleware:
    """REST requests per client IP per minute, counted in Redis so every replica shares them.

    Only /api/ is limited: health probes, metrics and the Socket.IO transport (which has its own
    per-connection event limit) are not.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        # The limiter needs Redis, which the lifespan builds: it arrives in the request's state.
        services = scope["state"]["services"]
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        try:
            verdict = await services.limiter.hit("http", ip)
        except UNAVAILABLE_ERRORS:
            # Failing open: a Redis outage must not turn into a total outage of reads that
            # might still work (they will fail on their own with 503 if they need Redis).
            await self.app(scope, receive, send)
            return
        if not verdict.allowed:
            services.metrics.rate_limited.labels("http").inc()
            response = error_response(
                429,
                "rate_limited",
                f"Too many requests; try again in {verdict.retry_after} s.",
                {"Retry-After": str(verdict.retry_after)},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
