"""ICE servers for the browser: STUN, and TURN with short-lived per-user credentials."""

from __future__ import annotations

import time

from holo_turn.credentials import mint_turn_credentials
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.api.http import EndpointDoc, documented, identity, respond, services


class IceServer(BaseModel):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class IceServers(BaseModel):
    ice_servers: list[IceServer]
    ttl: int
    relay_available: bool


@documented(
    EndpointDoc(
        "STUN and TURN servers, with TURN credentials valid for `ttl` seconds",
        response=IceServers,
        tags=("calls",),
    )
)
async def ice_servers(request: Request) -> Response:
    who = await identity(request)
    s = services(request)
    cfg = s.settings
    servers = [IceServer(urls=cfg.stun_urls)] if cfg.stun_urls else []
    relay = False
    if cfg.turn_urls:
        # The operator keeps the current secret here and rotates it; without one (no operator
        # yet, or Redis lost it and the operator has not re-seeded) we offer STUN only.
        secret = await s.turn_secrets.current(cfg.turn_realm)
        if secret:
            username, password = mint_turn_credentials(
                secret, who.user_id, cfg.turn_credential_ttl, time.time()
            )
            servers.append(IceServer(urls=cfg.turn_urls, username=username, credential=password))
            s.metrics.turn_credentials_issued.inc()
            relay = True
    response = respond(
        IceServers(ice_servers=servers, ttl=cfg.turn_credential_ttl, relay_available=relay)
    )
    response.headers["Cache-Control"] = "no-store"
    return response


routes = [Route("/api/ice-servers", ice_servers, methods=["GET"])]
