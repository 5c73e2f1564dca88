"""The learner's own endpoints (/api/me) against the embedded default: the profile is validated
against the catalogue, belongs to its caller only, and the offline tutor's summaries say what
they are."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.clients import Api, SocketClient, error_of
from tests.servers import Replica
from tests.tutor.memory_steps import session_with, summarized

GOOD = {
    "display_name": "Ann",
    "preferred_language": "es",
    "goals": "Order food in Spanish.\nPass the algebra exam.",
    "levels": {"languages": "beginner", "mathematics": "secondary"},
    "memory": True,
}


async def test_a_new_learner_has_a_profile_from_their_token(embedded: Replica) -> None:
    api = await Api.guest(embedded.url, "Ann")
    r = await api.request("GET", "/api/me")
    assert r.status_code == 200
    assert r.json() == {
        "user_id": api.user_id,
        "display_name": "Ann",
        "goals": "",
        "levels": {},
        "memory": True,
    }


async def test_the_profile_is_kept_and_only_its_owner_sees_it(embedded: Replica) -> None:
    ann = await Api.guest(embedded.url, "Ann")
    r = await ann.request("PUT", "/api/me", json=GOOD)
    assert r.status_code == 200, r.text
    assert r.json()["levels"] == GOOD["levels"] and r.json()["updated_at"] > 0
    assert (await ann.request("GET", "/api/me")).json()["goals"] == GOOD["goals"]
    bea = await Api.guest(embedded.url, "Bea")
    assert (await bea.request("GET", "/api/me")).json()["goals"] == ""
    assert (await Api(embedded.url).request("GET", "/api/me")).status_code == 401
    assert (await Api(embedded.url).request("DELETE", "/api/me")).status_code == 401


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"preferred_language": "xx"}, "preferred_language"),
        ({"levels": {"astrology": "beginner"}}, "levels"),
        ({"levels": {"mathematics": "expert"}}, "levels"),
        ({"goals": "x" * 501}, "goals"),
        ({"goals": "bad\u0000goal"}, "goals"),
        ({"display_name": ""}, "display_name"),
        ({"memory": "sometimes"}, "memory"),
        ({"memory": 0}, "memory"),  # strict: found by the contract fuzzer
        ({"user_id": "someone-else"}, "user_id"),
    ],
)
async def test_a_bad_profile_is_refused_and_changes_nothing(
    embedded: Replica, change: dict[str, Any], field: str
) -> None:
    api = await Api.guest(embedded.url, "Ann")
    assert (await api.request("PUT", "/api/me", json=GOOD)).status_code == 200
    r = await api.request("PUT", "/api/me", json={**GOOD, **change})
    assert r.status_code == 422
    error = error_of(r)
    assert error["code"] == "invalid_request" and field in error["message"]
    assert (await api.request("GET", "/api/me")).json()["goals"] == GOOD["goals"]


async def test_the_offline_tutor_summary_is_built_from_the_learners_messages(
    embedded: Replica, sockets: Callable[..., SocketClient]
) -> None:
    api = await Api.guest(embedded.url, "Ann")
    _, ended = await session_with(sockets, api, embedded.url, "ada-math", "What is a prime number?")
    summary = (await summarized(api, ended["session_id"]))["summary"]
    assert summary["status"] == "ready" and summary["source"] == "learner_messages"
    assert "no AI model wrote this" in summary["label"]
    assert summary["topics"] == ["What is a prime number?"]
    assert "What is a prime number?" in summary["practise_next"]
