"""POST /api/auth/guest, and the token every other endpoint needs (app/api/auth.py)."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from tests.clients import Api, error_of
from tests.servers import Replica


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
