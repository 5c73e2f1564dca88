"""Connections per user and per client address, capped across all replicas (Redis), with a
clear refusal; the slots of a replica that died are given back."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import socketio

from tests.clients import Api, SocketClient
from tests.conftest import ReplicaFactory
from tests.servers import RedisServer


async def open_transport(http: httpx.AsyncClient, url: str) -> httpx.Response:
    """An Engine.IO long-polling handshake: the cheapest connection a client can hold open."""
    return await http.get(f"{url}/socket.io/?EIO=4&transport=polling")


async def test_connections_per_address_are_capped_across_replicas(
    redis_server: RedisServer, start_replica: ReplicaFactory
) -> None:
    env = {"socket_connections_per_ip": "3"}
    a = start_replica("ipcap-a", redis_server.url, **env)
    b = start_replica("ipcap-b", redis_server.url, **env)
    async with httpx.AsyncClient(timeout=10) as http:
        opened = [await open_transport(http, r.url) for r in (a, a, b)]
        assert [r.status_code for r in opened] == [200, 200, 200]
        refused = await open_transport(http, b.url)
        assert refused.status_code in (401, 429), refused.text
        assert "too_many_connections" in refused.text
        # Closing one gives its slot back, on whichever replica.
        sid = opened[0].text.split('"sid":"')[1].split('"')[0]
        closed = await http.post(
            f"{a.url}/socket.io/?EIO=4&transport=polling&sid={sid}", content="1"
        )
        assert closed.status_code == 200
        again = await open_transport(http, b.url)
        assert again.status_code == 200, again.text


async def test_connections_per_user_are_capped_and_a_dead_replica_gives_them_back(
    redis_server: RedisServer, start_replica: ReplicaFactory, sockets: Callable[..., SocketClient]
) -> None:
    env = {"socket_connections_per_user": "2"}
    a = start_replica("usercap-a", redis_server.url, **env)
    b = start_replica("usercap-b", redis_server.url, **env)
    ann = await Api.guest(a.url, "Ann")
    room = await ann.create_room()
    on_a = await sockets(a.url, ann.token).connect()
    await sockets(b.url, ann.token).connect()

    third = sockets(b.url, ann.token)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await third.connect(wait_timeout=5)
    refusal = await third.next("connect_error")
    assert refusal["data"] == {"code": "too_many_connections"}
    assert "connections" in refusal["message"]
    # Someone else is not affected.
    bea = await Api.guest(b.url, "Bea")
    bea_socket = await sockets(b.url, bea.token).connect()

    assert (await on_a.call("join", {"room_id": room["room_id"]}))["ok"]
    join = {"room_id": room["room_id"], "invite_token": room["invite_token"]}
    assert (await bea_socket.call("join", join))["ok"]
    a.kill()  # Ann's connection there dies without a goodbye
    await bea_socket.next("peer-left", timeout=30)  # the replica was reaped
    await sockets(b.url, ann.token).connect()  # and its slot given back
