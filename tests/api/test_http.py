"""The shared request handling of app/api/http.py: bodies that are not JSON, too big, or wrong."""

from __future__ import annotations

from tests.clients import Api, error_of
from tests.servers import Replica


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
