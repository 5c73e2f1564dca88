"""ICE servers for the browser (app/api/ice.py); with TURN, see tests/operator."""

from __future__ import annotations

from tests.clients import Api
from tests.servers import Replica


async def test_ice_servers_without_turn_are_stun_only(embedded: Replica) -> None:
    api = await Api.guest(embedded.url)
    r = await api.request("GET", "/api/ice-servers")
    assert r.json() == {
        "ice_servers": [{"urls": ["stun:127.0.0.1:3478"]}],
        "ttl": 3600,
        "relay_available": False,
    }
    assert r.headers["cache-control"] == "no-store"
