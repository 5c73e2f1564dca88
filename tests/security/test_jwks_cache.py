"""The external issuer's key set when the issuer is down or slow: failures are cached, waits are
bounded, and tokens signed with a key we hold never wait for a refresh."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from aiohttp import web

from app.security.tokens import JWKS_CACHE_SECONDS, InvalidToken, JwksCache
from tests.clients import Api
from tests.security.test_external_tokens import AUDIENCE, ISSUER, IdentityProvider
from tests.servers import Replica


class FlakyIssuer:
    """An identity provider whose key-set endpoint can be up, down (503) or hanging."""

    def __init__(self) -> None:
        self.provider = IdentityProvider()
        self.mode = "up"
        self.requests = 0
        self.release = asyncio.Event()
        self.url = ""

    async def serve(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.mode == "down":
            return web.Response(status=503)
        if self.mode == "hang":
            await self.release.wait()
        return web.json_response(self.provider.jwks())


@pytest.fixture
async def issuer() -> AsyncIterator[FlakyIssuer]:
    flaky = FlakyIssuer()
    app = web.Application()
    app.router.add_get("/jwks.json", flaky.serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    flaky.url = f"http://127.0.0.1:{port}/jwks.json"
    yield flaky
    flaky.release.set()
    await runner.cleanup()


async def test_an_issuer_that_is_down_is_asked_once_not_per_request(
    issuer: FlakyIssuer, start_replica: Callable[..., Replica]
) -> None:
    issuer.mode = "down"
    replica = start_replica(
        "jwks-down", auth_jwks_url=issuer.url, auth_issuer=ISSUER, auth_audience=AUDIENCE
    )
    for n in range(10):
        token = issuer.provider.token(kid=f"rotated-{n}")
        r = await Api(replica.url, token).request("GET", "/api/sessions")
        assert r.status_code == 401
    assert issuer.requests == 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_known_keys_are_served_while_a_refresh_hangs(issuer: FlakyIssuer) -> None:
    clock = Clock()
    async with httpx.AsyncClient() as http:
        cache = JwksCache(http, issuer.url, clock=clock, max_wait=1.0)
        key = await cache.key(issuer.provider.kid)
        assert issuer.requests == 1

        issuer.mode = "hang"
        clock.now += JWKS_CACHE_SECONDS + 1  # the cache is old: a refresh is due
        # The issuer has not answered (it never will in this test), yet the key we hold is
        # served, and the refresh runs once behind it, not once per request.
        for _ in range(5):
            again = await asyncio.wait_for(cache.key(issuer.provider.kid), 5)
            assert again.key_id == key.key_id
        await asyncio.sleep(0)
        assert issuer.requests == 2

        # A key we do not hold waits for that same refresh, for a bounded time only.
        unknown = [cache.key(f"rotated-{n}") for n in range(10)]
        outcomes = await asyncio.wait_for(asyncio.gather(*unknown, return_exceptions=True), 10)
        assert all(isinstance(o, InvalidToken) for o in outcomes)
        assert issuer.requests == 2
