"""The OpenAPI document, generated from the routes' pydantic models, and a page rendering it."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from app.api.errors import ErrorResponse
from app.api.http import ID_PATTERN, EndpointDoc

_STATUS_TEXT = {
    400: "Bad request",
    401: "Missing or invalid token",
    403: "Not allowed",
    404: "Not found",
    413: "Body too large",
    415: "Body is not JSON (application/json)",
    422: "Invalid body or query",
    429: "Rate limited",
    503: "Store unavailable",
}


def _path_schema(name: str) -> dict[str, Any]:
    if name in ("room_id", "session_id"):
        return {"type": "string", "pattern": ID_PATTERN}
    return {"type": "string"}


def build_openapi(routes: list[BaseRoute], version: str) -> dict[str, Any]:
    documented: list[tuple[Route, str, EndpointDoc]] = []
    models: set[type[BaseModel]] = {ErrorResponse}
    for route in routes:
        doc = getattr(getattr(route, "endpoint", None), "__api_doc__", None)
        if not isinstance(route, Route) or not isinstance(doc, EndpointDoc):
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            documented.append((route, method.lower(), doc))
        models.update(m for m in (doc.body, doc.response) if m is not None)

    keyed, schemas = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )

    def ref(model: type[BaseModel]) -> dict[str, Any]:
        return keyed[(model, "validation")]

    paths: dict[str, dict[str, Any]] = {}
    for route, method, doc in documented:
        operation: dict[str, Any] = {
            "summary": doc.summary,
            "operationId": f"{method}_{route.name}",
            "tags": list(doc.tags),
            "responses": {},
        }
        params = [
            {"name": name, "in": "path", "required": True, "schema": _path_schema(name)}
            for name in re.findall(r"{(\w+)", route.path)
        ]
        if doc.query is not None:
            for name, field in doc.query.model_fields.items():
                params.append(
                    {
                        "name": name,
                        "in": "query",
                        "required": field.is_required(),
                        "schema": doc.query.model_json_schema()["properties"][name],
                    }
                )
        if params:
            operation["parameters"] = params
        if doc.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(doc.body)}},
            }
        ok = {"description": "OK"}
        if doc.response is not None:
            ok["content"] = {"application/json": {"schema": ref(doc.response)}}  # type: ignore[assignment]
        if doc.links:
            ok["links"] = {  # type: ignore[assignment]
                name: {"operationId": operation_id, "parameters": parameters}
                for name, operation_id, parameters in doc.links
            }
        operation["responses"][str(doc.status)] = ok
        errors = set(doc.errors) | {429, 503}
        if doc.body is not None or doc.query is not None:
            errors |= {400, 422}
        if doc.body is not None:
            errors |= {413, 415}
        if doc.auth:
            errors.add(401)
            operation["security"] = [{"bearer": []}]
        for status in sorted(errors):
            operation["responses"][str(status)] = {
                "description": _STATUS_TEXT.get(status, "Error"),
                "content": {"application/json": {"schema": ref(ErrorResponse)}},
            }
        paths.setdefault(route.path, {})[method] = operation

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Holo Tutor Hub API",
            "version": version,
            "description": "REST API of Holo Tutor Hub. Realtime events (Socket.IO) are described "
            "in docs/api.md.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Holo Tutor Hub API</title>
<link rel="stylesheet" href="/api/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/static/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script></body></html>"""

_DOCS_INIT = "SwaggerUIBundle({url: '/api/openapi.json', dom_id: '#swagger-ui'});"


def openapi_routes(app_routes: list[BaseRoute], version: str) -> list[BaseRoute]:
    document: dict[str, Any] = {}

    async def openapi(request: Request) -> Response:
        if not document:
            document.update(build_openapi(app_routes, version))
        return JSONResponse(document)

    async def docs(request: Request) -> Response:
        return HTMLResponse(_DOCS_PAGE)

    async def docs_init(request: Request) -> Response:
        # A separate script (not inline) so the page works under a strict CSP.
        return Response(_DOCS_INIT, media_type="text/javascript")

    return [
        Route("/api/openapi.json", openapi, methods=["GET"]),
        Route("/api/docs", docs, methods=["GET"]),
        Route("/api/docs/init.js", docs_init, methods=["GET"]),
        Mount("/api/docs/static", StaticFiles(directory=swagger_ui_path), name="swagger"),
    ]
