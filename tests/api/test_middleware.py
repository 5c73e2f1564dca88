"""Request ids, CORS and the shared REST rate limit (app/api/middleware.py)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.clients import error_of
from tests.servers import Replica


async def test_request_id_round_trip(embedded: Replica) -> None:
    async with httpx.AsyncClient(base_url=embedded.url) as http:
        r = await http.get("/healthz", headers={"X-Request-ID": "abc-123"})
        assert r.headers["x-request-id"] == "abc-123"
        r = await http.get("/healthz", headers={"X-Request-ID": "bad id with spaces;drop"})
        assert r.headers["x-request-id"] != "bad id with spaces"
        r = await http.get("/api/sessions", headers={"X-Request-ID": "trace-me-42"})
    assert error_of(r)["request_id"] == "trace-me-42"


async def test_cors_follows_settings(start_replica: Any) -> None:
    replica = start_replica("cors", cors_origins="https://app.example")
    async with httpx.AsyncClient(base_url=replica.url) as http:
        ok = await http.options(
            "/api/sessions",
            headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
        )
        bad = await http.options(
            "/api/sessions",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
    assert ok.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in bad.headers


async def test_rate_limit_is_shared_by_replicas(redis_server: Any, start_replica: Any) -> None:
    a = start_replica("rl-a", redis_server.url, rate_limit_per_minute="5")
    b = start_replica("rl-b", redis_server.url, rate_limit_per_minute="5")
    await redis_server_flush_ratelimits(redis_server.url)
    statuses = []
    async with httpx.AsyncClient() as http:
        for i in range(8):
            r = await http.get(f"{(a, b)[i % 2].url}/api/companions")
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert error_of(r)["code"] == "rate_limited"
                assert 1 <= int(r.headers["retry-after"]) <= 61
        health = await http.get(f"{a.url}/healthz")
    assert statuses.count(429) == 3, statuses  # 5 allowed across both replicas, then refused
    assert health.status_code == 200  # probes are never rate limited


async def redis_server_flush_ratelimits(url: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    async for key in client.scan_iter("holo:ratelimit:*"):
        await client.delete(key)
    await client.aclose()
