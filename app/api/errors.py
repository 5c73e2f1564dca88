"""One error shape for every failure: ``{"error": {"code", "message", "request_id"}}``."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route

from app.observability.logging import request_id_var
from app.observability.metrics import Metrics
from app.store.redis import UNAVAILABLE_ERRORS

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    code: str
    message: str
    request_id: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = ErrorResponse(
        error=ErrorBody(code=code, message=message, request_id=request_id_var.get())
    )
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


async def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    return error_response(422, "invalid_request", _validation_message(exc))


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    headers = dict(exc.headers or {})
    if exc.status_code == 404 and _allowed_methods(request):
        # The path exists with other methods; the single-page app's mount at / answered first.
        exc = HTTPException(405)
        code = _HTTP_CODES[405]
    if exc.status_code == 405:
        # Starlette names the methods of the first route that matched the path; a path served
        # by several routes (GET and DELETE /api/rooms/{id}) allows all of theirs.
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return error_response(exc.status_code, code, str(exc.detail), headers)


def _allowed_methods(request: Request) -> list[str]:
    allowed: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.matches(request.scope)[0] != Match.NONE:
            allowed |= route.methods or set()
    return sorted(allowed)


def unexpected_error_response(
    exc: Exception, metrics: Metrics, method: str, path: str
) -> JSONResponse:
    """The answer to an exception no handler expected: one log line (JSON, with the request id
    of the context it is called in) and a 503 or 500 body."""
    if isinstance(exc, UNAVAILABLE_ERRORS):
        metrics.errors.labels("store", "unavailable").inc()
        log.warning("store unavailable: %s", exc)
        return error_response(
            503,
            "store_unavailable",
            "The service is briefly unavailable; try again.",
            {"Retry-After": "2"},
        )
    metrics.errors.labels("http", "internal").inc()
    log.exception("unhandled error on %s %s", method, path)
    return error_response(500, "internal", "Something went wrong on our side.")


# Unexpected exceptions are not here: Starlette would answer them outside every middleware
# (no request id, no CORS) and re-raise them to uvicorn (a second traceback). The request-context
# middleware answers them instead (app/api/middleware.py).
EXCEPTION_HANDLERS = {
    ApiError: handle_api_error,
    ValidationError: handle_validation_error,
    HTTPException: handle_http_exception,
}
