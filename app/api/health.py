"""Liveness, readiness and the Prometheus exposition."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.api.errors import error_response
from app.api.http import services
from app.realtime.manager import RedisPubSubManager
from app.store.redis import UNAVAILABLE_ERRORS

READINESS_PING_TIMEOUT = 1.0
_NOT_READY: tuple[type[BaseException], ...] = (TimeoutError, *UNAVAILABLE_ERRORS)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    s = services(request)
    if s.lifecycle.draining:
        return error_response(503, "draining", "This replica is shutting down.")
    try:
        await asyncio.wait_for(s.store.ping(), READINESS_PING_TIMEOUT)
    except _NOT_READY:
        return error_response(503, "store_unavailable", "Redis is not reachable.")
    manager = s.sio.manager
    if isinstance(manager, RedisPubSubManager) and not manager.subscribed.is_set():
        # Until the listener has re-subscribed, events published by other replicas would be
        # lost for this replica's clients: keep traffic away until then.
        return error_response(503, "store_unavailable", "Redis pub/sub is not subscribed yet.")
    return JSONResponse({"status": "ready"})


async def metrics(request: Request) -> Response:
    m = services(request).metrics
    return Response(m.exposition(), media_type=m.content_type)


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
