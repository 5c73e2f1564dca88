"""The companion catalogue (app/api/companions.py)."""

from __future__ import annotations

from tests.clients import Api
from tests.servers import Replica


async def test_companion_catalogue_filters_and_search(embedded: Replica) -> None:
    api = await Api.guest(embedded.url)
    everyone = (await api.request("GET", "/api/companions")).json()["companions"]
    assert len(everyone) >= 8
    assert len({c["subject"] for c in everyone}) >= 6
    assert all("persona" not in c and "voices" not in c for c in everyone)
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
