"""Long-polling clients behind a load balancer in front of three replicas.

Socket.IO's polling transport sends every request of a session as a separate HTTP request; only
the replica that made the session knows it. With an LB-issued affinity cookie the clients spread
over the replicas and all work; with plain round robin the second request lands elsewhere and
fails with ``400 Invalid session``, the failure stickiness prevents.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import aiohttp
import httpx
import pytest
import socketio

from tests.clients import Api, SocketClient
from tests.servers import LoadBalancer, RedisServer, Replica

PAIRS = 15  # 30 clients: a replica left empty by the hash would happen about once in 70,000 runs


@pytest.fixture(scope="module")
def replicas(redis_server: RedisServer) -> Iterator[list[Replica]]:
    from tests.conftest import BASE_ENV

    made = [
        Replica(name=f"lb-{i}", env={**BASE_ENV, "HOLO_REDIS_URL": redis_server.url})
        for i in range(3)
    ]
    with ThreadPoolExecutor() as pool:
        started = list(pool.map(Replica.start, made))
    yield started
    for replica in started:
        replica.kill()


@pytest.fixture
def balancer(replicas: list[Replica], request: pytest.FixtureRequest) -> Iterator[LoadBalancer]:
    lb = LoadBalancer([r.port for r in replicas], sticky=request.param).start()
    yield lb
    lb.stop()


@pytest.fixture
async def polling_client(
    sockets: Callable[..., SocketClient],
) -> AsyncIterator[Callable[..., SocketClient]]:
    sessions: list[aiohttp.ClientSession] = []

    def make(url: str, token: str) -> SocketClient:
        # One cookie jar per client, as one browser each: the LB's cookie pins that client.
        session = aiohttp.ClientSession()
        sessions.append(session)
        return sockets(url, token, transports=["polling"], http_session=session)

    yield make
    for session in sessions:
        await session.close()


def _connections(replica: Replica) -> float:
    text = httpx.get(f"{replica.url}/metrics", timeout=5).text
    match = re.search(r"^holo_socket_connections (\S+)$", text, re.MULTILINE)
    assert match, "holo_socket_connections missing from /metrics"
    return float(match.group(1))


@pytest.mark.parametrize("balancer", [True], indirect=True, ids=["sticky"])
async def test_polling_clients_spread_over_replicas_and_all_work(
    balancer: LoadBalancer, replicas: list[Replica], polling_client: Callable[..., SocketClient]
) -> None:
    async def pair(n: int) -> None:
        learner = await Api.guest(balancer.url, f"Learner {n}")
        friend = await Api.guest(balancer.url, f"Friend {n}")
        room = await learner.create_room()
        rid = room["room_id"]
        a = await polling_client(balancer.url, learner.token).connect()
        b = await polling_client(balancer.url, friend.token).connect()
        assert (await a.call("join", {"room_id": rid}))["ok"]
        assert (await b.call("join", {"room_id": rid, "invite_token": room["invite_token"]}))["ok"]
        assert (await a.next("peer-joined"))["user_id"] == friend.user_id
        ack = await a.call("message", {"room_id": rid, "text": f"hello {n}", "client_id": "c1"})
        assert ack["ok"]
        assert (await b.next("message"))["text"] == f"hello {n}"

    await asyncio.gather(*(pair(n) for n in range(PAIRS)))
    per_replica = await asyncio.to_thread(lambda: [_connections(r) for r in replicas])
    assert sum(per_replica) == 2 * PAIRS
    assert all(count > 0 for count in per_replica), per_replica


@pytest.mark.parametrize("balancer", [False], indirect=True, ids=["round-robin"])
async def test_without_stickiness_polling_fails_with_invalid_session(
    balancer: LoadBalancer, polling_client: Callable[..., SocketClient]
) -> None:
    async with httpx.AsyncClient(base_url=balancer.url) as http:
        handshake = await http.get("/socket.io/?EIO=4&transport=polling")
        assert handshake.status_code == 200
        sid = json.loads(handshake.text[1:])["sid"]
        # Round robin sends the session's next request to another replica.
        poll = await http.get(f"/socket.io/?EIO=4&transport=polling&sid={sid}")
        assert poll.status_code == 400
        assert "Invalid session" in poll.text

    learner = await Api.guest(balancer.url, "Learner")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await polling_client(balancer.url, learner.token).connect(wait_timeout=3)
