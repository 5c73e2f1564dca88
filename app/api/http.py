"""What every REST endpoint shares: the caller's identity, a size-capped validated body, JSON
responses from pydantic models, and the metadata the OpenAPI document is built from."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.api.errors import ApiError
from app.models import Identity
from app.security.tokens import InvalidToken
from app.services import Services

MAX_BODY_BYTES = 64 * 1024
# Room and session ids (UUIDs we issue): anything else is refused before it reaches a Redis key,
# where characters such as ":" or "}" could name another key.
ID_PATTERN = r"^[A-Za-z0-9-]{1,64}$"
_ID = re.compile(ID_PATTERN)


def valid_id(value: str) -> bool:
    return _ID.fullmatch(value) is not None


M = TypeVar("M", bound=BaseModel)
Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class EndpointDoc:
    summary: str
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    auth: bool = True
    errors: tuple[int, ...] = ()
    status: int = 200
    tags: tuple[str, ...] = field(default_factory=tuple)
    # OpenAPI links from the success response: (name, operationId, {parameter: expression}),
    # so clients and fuzzers know which operation takes the id this one returns.
    links: tuple[tuple[str, str, dict[str, str]], ...] = ()


def documented(doc: EndpointDoc) -> Callable[[Endpoint], Endpoint]:
    def attach(endpoint: Endpoint) -> Endpoint:
        endpoint.__api_doc__ = doc  # type: ignore[attr-defined]
        return endpoint

    return attach


def services(request: Request) -> Services:
    found: Services = request.state.services
    return found


async def identity(request: Request) -> Identity:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "unauthorized", "Send Authorization: Bearer <token>.")
    try:
        return await services(request).tokens.verify(token.strip())
    except InvalidToken as exc:
        raise ApiError(401, "unauthorized", str(exc)) from exc


async def body(request: Request, model: type[M]) -> M:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/json"):
        raise ApiError(415, "unsupported_media_type", "Send a JSON body (application/json).")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, "payload_too_large", f"Bodies are limited to {MAX_BODY_BYTES} bytes.")
    raw = bytearray()
    async for chunk in request.stream():
        raw.extend(chunk)
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError(
                413, "payload_too_large", f"Bodies are limited to {MAX_BODY_BYTES} bytes."
            )
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        # RecursionError: thousands of nested brackets, well within the size cap.
        raise ApiError(400, "invalid_json", "The body is not valid JSON.") from exc
    return model.model_validate(data)


def query(request: Request, model: type[M]) -> M:
    params: dict[str, Any] = dict(request.query_params)
    return model.model_validate(params)


def respond(model: BaseModel, status: int = 200) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json", exclude_none=True), status_code=status)
