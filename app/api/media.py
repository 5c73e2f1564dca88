"""The local media directory's files, under the signed, expiring URLs ``LocalStorage`` makes.

Mounted only when storage is local (no bucket): with S3 the browser fetches presigned URLs from
the bucket itself.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from app.providers.storage.base import content_type_for_key
from app.providers.storage.local import LocalStorage


def media_route(storage: LocalStorage, path: str = "/media/{key:path}") -> Route:
    async def serve(request: Request) -> Response:
        key = request.path_params["key"]
        exp = request.query_params.get("exp", "")
        sig = request.query_params.get("sig", "")
        now = storage.clock()
        if not storage.verify(key, exp, sig, now):
            return PlainTextResponse("invalid or expired link", status_code=403)
        path = storage.path_for(key)
        if path is None or not await asyncio.to_thread(path.is_file):
            return PlainTextResponse("not found", status_code=404)
        return FileResponse(
            path,
            media_type=content_type_for_key(key),
            headers={
                "Cache-Control": f"private, max-age={max(0, int(exp) - int(now))}",
                "X-Content-Type-Options": "nosniff",
            },
        )

    return Route(path, serve, methods=["GET", "HEAD"], name="media")
