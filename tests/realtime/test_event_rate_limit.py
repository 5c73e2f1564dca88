"""A per-connection budget of Socket.IO events: a flooding client gets `rate_limited` acks and
stays connected; other connections are not affected."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tests.clients import Api, SocketClient
from tests.conftest import ReplicaFactory

BURST = 5


async def test_a_flooding_connection_is_limited_alone(
    start_replica: ReplicaFactory, sockets: Callable[..., SocketClient]
) -> None:
    # One token every 100 s: nothing refills during the test, so the burst is the whole budget.
    replica = start_replica(
        "ratelimit", socket_events_per_second="0.01", socket_event_burst=str(BURST)
    )
    learner = await Api.guest(replica.url, "Flood")
    room = await learner.create_room()
    flood = await sockets(replica.url, learner.token).connect()
    calm_api = await Api.guest(replica.url, "Calm")
    calm_room = await calm_api.create_room()
    calm = await sockets(replica.url, calm_api.token).connect()

    assert (await flood.call("join", {"room_id": room["room_id"]}))["ok"]  # one of the burst
    acks = await asyncio.gather(
        *(
            flood.call(
                "message", {"room_id": room["room_id"], "text": f"m{n}", "client_id": f"c{n}"}
            )
            for n in range(20)
        )
    )
    refused = [a for a in acks if not a["ok"]]
    assert len(refused) == 20 - (BURST - 1)
    assert {a["error"]["code"] for a in refused} == {"rate_limited"}
    # Refused events changed nothing: only the admitted messages were stored.
    r = await learner.request("GET", f"/api/rooms/{room['room_id']}/messages")
    assert len(r.json()["messages"]) == BURST - 1
    # The flooder is still connected (told to slow down, not dropped), and others are unaffected.
    assert flood.sio.connected
    assert (await calm.call("join", {"room_id": calm_room["room_id"]}))["ok"]
    metrics = (await learner.request("GET", "/metrics")).text
    assert f'holo_rate_limited_total{{scope="socket"}} {20 - (BURST - 1)}.0' in metrics
