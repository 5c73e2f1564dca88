"""Failures as a client and an operator see them: every error response carries its request id
(body and header) and CORS headers, and each failure is one JSON line in the log."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
import redis.asyncio as aioredis

from tests.clients import Api
from tests.conftest import ReplicaFactory
from tests.servers import RedisServer, Replica


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.cleanup()


def lines_about(replica: Replica, request_id: str) -> list[str]:
    lines = [line for line in replica.log_text().splitlines() if request_id in line]
    for line in lines:
        assert json.loads(line)["request_id"] == request_id
    return lines


def assert_error_carries_id(r: httpx.Response, request_id: str) -> None:
    assert r.headers["x-request-id"] == request_id
    assert r.json()["error"]["request_id"] == request_id


async def test_500_and_503_carry_the_request_id_and_log_one_json_line(
    own_redis: RedisServer, start_replica: ReplicaFactory
) -> None:
    replica = start_replica("errors-ids", own_redis.url)
    api = await Api.guest(replica.url)
    # Data this version cannot read (a key of the wrong type): an unexpected error, a 500.
    raw = aioredis.Redis.from_url(own_redis.url)
    await raw.set(f"holo:user:{api.user_id}:sessions", "not a sorted set")
    await raw.aclose()
    r = await api.request("GET", "/api/sessions", headers={"X-Request-ID": "broken-500"})
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal"
    assert_error_carries_id(r, "broken-500")

    own_redis.stop()  # an outage: 503, with the id
    r = await api.request("GET", "/api/sessions", headers={"X-Request-ID": "outage-503"})
    assert r.status_code == 503 and r.json()["error"]["code"] == "store_unavailable"
    assert_error_carries_id(r, "outage-503")
    own_redis.start()

    log = replica.log_text()
    assert "Exception in ASGI application" not in log
    for line in log.splitlines():
        json.loads(line)
    assert len(lines_about(replica, "broken-500")) == 1
    assert len(lines_about(replica, "outage-503")) == 1


async def test_a_429_carries_cors_headers_for_an_allowed_origin(
    start_replica: ReplicaFactory,
) -> None:
    replica = start_replica(
        "cors-429", cors_origins="https://app.example", rate_limit_per_minute="1"
    )
    origin = {"Origin": "https://app.example"}
    async with httpx.AsyncClient(base_url=replica.url) as http:
        first = await http.get("/api/companions", headers=origin)
        limited = await http.get("/api/companions", headers=origin)
    assert first.status_code == 401  # counted all the same
    assert limited.status_code == 429
    # The web app can read the refusal, and when to come back.
    assert limited.headers["access-control-allow-origin"] == "https://app.example"
    exposed = limited.headers["access-control-expose-headers"].lower()
    assert "retry-after" in exposed and "x-request-id" in exposed
