"""Serving the built web app at ``/``, with the history-API fallback a single-page app needs."""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from app.config import Settings

_NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Holo Tutor Hub</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>Holo Tutor Hub</h1><p>The API is running. The web app has not been built
(<code>make run</code> builds it into <code>frontend/dist</code>).</p>
<p><a href="/api/docs">API documentation</a></p></body></html>"""


class SinglePageApp(StaticFiles):
    """Static files; any unknown path that is not an API path gets index.html, so deep links
    such as /rooms/{id} load the app."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or path.startswith(("api/", "socket.io")):
                raise
            return FileResponse(Path(str(self.directory)) / "index.html")


def frontend_routes(settings: Settings) -> list[BaseRoute]:
    dist = Path(settings.static_dir)
    if (dist / "index.html").is_file():
        return [Mount("/", SinglePageApp(directory=dist, html=True), name="frontend")]

    async def placeholder(request: Request) -> Response:
        return HTMLResponse(_NOT_BUILT)

    return [Route("/", placeholder, methods=["GET"])]
