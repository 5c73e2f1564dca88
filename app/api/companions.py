"""The tutor catalogue, filtered and searched. It is static data, so responses are cacheable."""

from __future__ import annotations

from html import escape

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.api.errors import ApiError
from app.api.http import EndpointDoc, documented, identity, query, respond, services
from app.catalogue import CompanionFilter, Level

CACHE_CONTROL = "private, max-age=3600"


class CompanionOut(BaseModel):
    id: str
    name: str
    subject: str
    level: Level
    languages: list[str]
    tagline: str
    avatar_url: str
    color: str


class CompanionList(BaseModel):
    companions: list[CompanionOut]


def _out(request: Request, companion_id: str) -> CompanionOut:
    c = services(request).catalogue.get(companion_id)
    if c is None:
        raise ApiError(404, "companion_not_found", "No companion with that id.")
    return CompanionOut(**c.model_dump(exclude={"persona", "voices"}), avatar_url=c.avatar_url)


@documented(
    EndpointDoc(
        "List companions, filtered by subject, level, language and a search text",
        query=CompanionFilter,
        response=CompanionList,
        tags=("companions",),
    )
)
async def list_companions(request: Request) -> Response:
    await identity(request)
    f = query(request, CompanionFilter)
    catalogue = services(request).catalogue
    found = [_out(request, c.id) for c in catalogue.search(f)]
    response = respond(CompanionList(companions=found))
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["ETag"] = catalogue.etag
    return response


@documented(
    EndpointDoc("One companion", response=CompanionOut, errors=(404,), tags=("companions",))
)
async def get_companion(request: Request) -> Response:
    await identity(request)
    response = respond(_out(request, request.path_params["companion_id"]))
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


async def companion_avatar(request: Request) -> Response:
    """A generated avatar (initial on the companion's colour): no image hosting needed, and
    public like any image an <img> tag loads."""
    c = services(request).catalogue.get(request.path_params["companion_id"])
    if c is None:
        raise ApiError(404, "companion_not_found", "No companion with that id.")
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 96 96" role="img" '
        f'aria-label="{escape(c.name)}"><rect width="96" height="96" rx="48" fill="{c.color}"/>'
        '<text x="48" y="62" font-family="sans-serif" font-size="44" text-anchor="middle" '
        f'fill="#fff">{escape(c.name[0])}</text></svg>'
    )
    return Response(
        svg, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )


routes = [
    Route("/api/companions", list_companions, methods=["GET"]),
    Route("/api/companions/{companion_id}", get_companion, methods=["GET"]),
    Route("/api/companions/{companion_id}/avatar.svg", companion_avatar, methods=["GET"]),
]
