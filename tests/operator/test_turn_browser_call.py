"""A relay-only call in real Chromium keeps decoding frames through two secret rotations.

coturn checks a credential only when an allocation is created, so a call set up before a rotation
keeps its relays after its secret has left coturn's set. The rotations run through the operator's
reconcile (clock injected, as in test_turn_rotation_coturn); coturn and Redis are real.
"""

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from holo_operator.manifests import Owner
from holo_operator.reconcile import reconcile
from holo_operator.runtime import Runtime
from holo_turn import keys as redis_keys
from holo_turn.credentials import mint_turn_credentials
from kube_api_standin import KubeApiStandin
from playwright.async_api import Page, async_playwright
from turn_fixtures import NAMESPACE, coturn_inputs, put_redis_secret, turnserver
from turn_processes import Coturn, RedisServer, allocate, coturn, eventually

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PAGE = Path(__file__).with_name("relay_call_page.html")
TTL, SKEW, INTERVAL = 30, 5, 100


@pytest.fixture
async def page_url() -> AsyncIterator[str]:
    # http://localhost is a secure context, so getUserMedia works without TLS.
    app = web.Application()

    async def index(_: web.Request) -> web.FileResponse:
        return web.FileResponse(PAGE)

    app.router.add_get("/", index)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://localhost:{port}/"
    await runner.cleanup()


@pytest.fixture
async def page(page_url: str) -> AsyncIterator[Page]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(permissions=["camera", "microphone"])
        page = await context.new_page()
        await page.goto(page_url)
        yield page
        await browser.close()


def ice_servers(server: Coturn, secret: str, user: str) -> list[dict[str, Any]]:
    username, password = mint_turn_credentials(secret, user, ttl=600, now=time.time())
    return [
        {
            "urls": [f"turn:127.0.0.1:{server.port}?transport=udp"],
            "username": username,
            "credential": password,
        }
    ]


async def frames_grow(page: Page, what: str) -> dict[str, Any]:
    """Wait until the receiver decodes more frames than now, over a relay-relay pair."""
    start = (await page.evaluate("callStats()"))["frames"]

    async def grown() -> dict[str, Any] | None:
        stats: dict[str, Any] = await page.evaluate("callStats()")
        return stats if stats["frames"] >= start + 10 else None

    stats: dict[str, Any] = await eventually(grown, within=20, what=what)
    assert (stats["localType"], stats["remoteType"]) == ("relay", "relay"), stats
    assert stats["state"] == "connected", stats
    return stats


async def test_a_relay_only_call_survives_two_rotations(
    standin: KubeApiStandin,
    runtime: Runtime,
    redis: RedisServer,
    page: Page,
    tmp_path: Path,
) -> None:
    await put_redis_secret(standin, redis.url)
    obj = await standin.put_object(
        turnserver(
            rotation={
                "intervalSeconds": INTERVAL,
                "credentialTTLSeconds": TTL,
                "clockSkewSeconds": SKEW,
            }
        )
    )
    owner = Owner("turn", NAMESPACE, obj["metadata"]["uid"])
    t = 1000.0
    first = (await reconcile(runtime, owner, obj["spec"], now=t)).current
    assert first is not None
    conf_text, userdb = coturn_inputs(standin)
    client = aioredis.Redis.from_url(redis.url)
    set_key = redis_keys.coturn_secret_set("turn.test")

    with coturn(conf_text, userdb, tmp_path) as server:
        await page.evaluate(
            "([a, b]) => startCall(a, b)",
            [
                ice_servers(server, first.secret, "learner"),
                ice_servers(server, first.secret, "tutor"),
            ],
        )
        await frames_grow(page, "the call to start")

        call_secret = first.secret
        for rotation in (1, 2):
            t += INTERVAL
            current = (await reconcile(runtime, owner, obj["spec"], now=t)).current
            assert current is not None and current.secret != call_secret
            await frames_grow(page, f"frames during overlap {rotation}")

            t += TTL + SKEW
            await reconcile(runtime, owner, obj["spec"], now=t)
            members = await client.smembers(set_key)
            assert first.secret.encode() not in members
            assert members == {current.secret.encode()}
            await frames_grow(page, f"frames after rotation {rotation}")

        assert current is not None
        # The call's own credentials are refused now: only its existing allocations carry it.
        assert not await allocate(server, *mint_for(first.secret))
        assert await allocate(server, *mint_for(current.secret))
        log = server.log_text()
    # Both browser peers allocated their relays with the first secret's credentials.
    for user in ("learner", "tutor"):
        assert re.search(rf":{user}>: incoming packet ALLOCATE processed, success", log), user
    await client.aclose()


def mint_for(secret: str) -> tuple[str, str]:
    return mint_turn_credentials(secret, "checker", ttl=600, now=time.time())
