"""The REST API of design.md §4 against the embedded default (no Redis server at all)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest

from tests.clients import Api
from tests.servers import Replica


def error_of(r: httpx.Response) -> dict[str, Any]:
    body = r.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "request_id"}, body
    assert body["error"]["request_id"] == r.headers["x-request-id"]
    error: dict[str, Any] = body["error"]
    return error


async def test_guest_token_identifies_the_caller(embedded: Replica) -> None:
    api = await Api.guest(embedded.url, "  Ada   Lovelace ")
    claims = jwt.decode(api.token or "", options={"verify_signature": False})
    assert claims["sub"] == api.user_id and claims["name"] == "Ada Lovelace"
    assert claims["exp"] > time.time() + 3600


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 422, "invalid_request"),
        ({"display_name": ""}, 422, "invalid_request"),
        ({"display_name": "x" * 65}, 422, "invalid_request"),
        ({"display_name": 5}, 422, "invalid_request"),
        ({"display_name": "Ann", "role": "admin"}, 422, "invalid_request"),
        ({"display_name": "bad\u0000name"}, 422, "invalid_request"),
        ([], 422, "invalid_request"),
    ],
)
async def test_guest_token_rejects_bad_bodies(
    embedded: Replica, body: Any, status: int, code: str
) -> None:
    r = await Api(embedded.url).request("POST", "/api/auth/guest", json=body)
    assert r.status_code == status
    assert error_of(r)["code"] == code


async def test_malformed_and_oversized_bodies(embedded: Replica) -> None:
    api = await Api.guest(embedded.url)
    r = await api.request(
        "POST", "/api/rooms", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and error_of(r)["code"] == "invalid_json"
    r = await api.request(
        "POST",
        "/api/rooms",
        content=b"companion_id=ada-math",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 415 and error_of(r)["code"] == "unsupported_media_type"
    big = b'{"companion_id": "' + b"a" * 70_000 + b'"}'
    r = await api.request(
        "POST", "/api/rooms", content=big, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413 and error_of(r)["code"] == "payload_too_large"
    r = await api.request("POST", "/api/rooms", json={"companion_id": "nobody"})
    assert r.status_code == 404 and error_of(r)["code"] == "companion_not_found"
    r = await api.request("GET", "/api/rooms/whatever/messages", params={"after": "-1"})
    assert r.status_code == 422
    # None of it created a room.
    assert (await api.request("GET", "/api/sessions")).json() == {"sessions": []}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/companions"),
        ("GET", "/api/companions/ada-math"),
        ("POST", "/api/rooms"),
        ("GET", "/api/rooms/r1"),
        ("DELETE", "/api/rooms/r1"),
        ("GET", "/api/rooms/r1/messages"),
        ("GET", "/api/sessions"),
        ("GET", "/api/sessions/s1"),
        ("GET", "/api/sessions/s1/transcript"),
        ("GET", "/api/ice-servers"),
    ],
)
@pytest.mark.parametrize("token", [None, "not-a-jwt", "forged"])
async def test_every_endpoint_needs_a_valid_token(
    embedded: Replica, method: str, path: str, token: str | None
) -> None:
    if token == "forged":
        token = jwt.encode(
            {
                "sub": "guest-x",
                "name": "x",
                "iss": "holo-tutor",
                "aud": "holo-tutor:guest",
                "exp": int(time.time()) + 60,
            },
            "not-our-secret-but-long-enough-1234567890",
            algorithm="HS256",
        )
    r = await Api(embedded.url, token).request(method, path)
    assert r.status_code == 401
    assert error_of(r)["code"] == "unauthorized"


async def test_companion_catalogue_filters_and_search(embedded: Replica) -> None:
    api = await Api.guest(embedded.url)
    everyone = (await api.request("GET", "/api/companions")).json()["companions"]
    assert len(everyone) >= 8
    assert len({c["subject"] for c in everyone}) >= 6
    assert all("persona" not in c for c in everyone)
    maths = (await api.request("GET", "/api/companions", params={"subject": "mathematics"})).json()[
        "companions"
    ]
    assert {c["id"] for c in maths} == {"ada-math", "priya-primary"}
    spanish = (await api.request("GET", "/api/companions", params={"language": "es"})).json()[
        "companions"
    ]
    assert [c["name"] for c in spanish] == ["Sofía"]
    both = await api.request(
        "GET", "/api/companions", params={"level": "university", "q": "history sources"}
    )
    assert [c["id"] for c in both.json()["companions"]] == ["henri-history"]
    none = await api.request("GET", "/api/companions", params={"q": "underwater basket weaving"})
    assert none.json() == {"companions": []}
    assert "max-age=3600" in none.headers["cache-control"]
    r = await api.request("GET", "/api/companions", params={"q": "x" * 101})
    assert r.status_code == 422
    r = await api.request("GET", "/api/companions", params={"colour": "red"})
    assert r.status_code == 422
    one = await api.request("GET", "/api/companions/kenji-code")
    assert one.json()["name"] == "Kenji"
    avatar = await api.request("GET", one.json()["avatar_url"])
    assert avatar.headers["content-type"].startswith("image/svg+xml") and b"<svg" in avatar.content
    assert (await api.request("GET", "/api/companions/nobody")).status_code == 404


async def test_room_lifecycle_and_session_history(embedded: Replica) -> None:
    owner = await Api.guest(embedded.url, "Ann")
    room = await owner.create_room("sofia-spanish")
    rid = room["room_id"]
    assert room["invite_url"].endswith(f"/rooms/{rid}?invite={room['invite_token']}")
    assert room["expires_at"] - room["created_at"] == pytest.approx(7200)
    got = (await owner.request("GET", f"/api/rooms/{rid}")).json()
    assert got["room"]["status"] == "active" and got["is_owner"] is True

    # The invitee can preview with the token; a stranger cannot tell the room exists.
    guest = await Api.guest(embedded.url, "Bea")
    assert (await guest.request("GET", f"/api/rooms/{rid}")).status_code == 404
    preview = await guest.request(
        "GET", f"/api/rooms/{rid}", params={"invite_token": room["invite_token"]}
    )
    assert preview.status_code == 200 and preview.json()["is_owner"] is False
    assert (await guest.request("DELETE", f"/api/rooms/{rid}")).status_code == 404

    ended = await owner.request("DELETE", f"/api/rooms/{rid}")
    assert ended.status_code == 200
    record = ended.json()
    assert record["room_id"] == rid and record["companion_id"] == "sofia-spanish"
    assert record["message_count"] == 0 and record["participants"] == [owner.user_id]
    # Ending twice returns the same record instead of writing a second one.
    again = await owner.request("DELETE", f"/api/rooms/{rid}")
    assert again.json() == record
    history = (await owner.request("GET", "/api/sessions")).json()["sessions"]
    assert [s["session_id"] for s in history] == [record["session_id"]]
    one = await owner.request("GET", f"/api/sessions/{record['session_id']}")
    # The same record, with its summary once the summary job has written it.
    assert {k: v for k, v in one.json().items() if k != "summary"} == record
    transcript = await owner.request("GET", f"/api/sessions/{record['session_id']}/transcript")
    assert transcript.json() == {"session_id": record["session_id"], "messages": []}
    assert (await guest.request("GET", f"/api/sessions/{record['session_id']}")).status_code == 404
    assert (await owner.request("GET", f"/api/rooms/{rid}")).json()["room"]["status"] == "ended"


async def test_ice_servers_without_turn_are_stun_only(embedded: Replica) -> None:
    api = await Api.guest(embedded.url)
    r = await api.request("GET", "/api/ice-servers")
    assert r.json() == {
        "ice_servers": [{"urls": ["stun:127.0.0.1:3478"]}],
        "ttl": 3600,
        "relay_available": False,
    }
    assert r.headers["cache-control"] == "no-store"


async def test_request_id_round_trip(embedded: Replica) -> None:
    async with httpx.AsyncClient(base_url=embedded.url) as http:
        r = await http.get("/healthz", headers={"X-Request-ID": "abc-123"})
        assert r.headers["x-request-id"] == "abc-123"
        r = await http.get("/healthz", headers={"X-Request-ID": "bad id with spaces;drop"})
        assert r.headers["x-request-id"] != "bad id with spaces"
        r = await http.get("/api/sessions", headers={"X-Request-ID": "trace-me-42"})
    assert error_of(r)["request_id"] == "trace-me-42"


async def test_openapi_document_and_page(embedded: Replica) -> None:
    async with httpx.AsyncClient(base_url=embedded.url) as http:
        doc = (await http.get("/api/openapi.json")).json()
        page = await http.get("/api/docs")
        bundle = await http.get("/api/docs/static/swagger-ui-bundle.js")
    assert doc["openapi"].startswith("3.")
    assert {
        "/api/auth/guest",
        "/api/companions",
        "/api/rooms",
        "/api/rooms/{room_id}",
        "/api/rooms/{room_id}/messages",
        "/api/sessions",
        "/api/sessions/{session_id}/transcript",
        "/api/ice-servers",
    } <= set(doc["paths"])
    assert set(doc["paths"]["/api/rooms/{room_id}"]) == {"get", "delete"}
    create = doc["paths"]["/api/rooms"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CreateRoom"
    }
    assert "ErrorResponse" in doc["components"]["schemas"]
    assert "SessionRecord" in doc["components"]["schemas"]
    assert page.status_code == 200 and "swagger-ui" in page.text
    assert bundle.status_code == 200


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
