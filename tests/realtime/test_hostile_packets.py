"""Hostile Socket.IO traffic from a raw WebSocket: binary events are refused and the connection
closed before anything piles up in memory; malformed packets cost at most one JSON log line."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psutil
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.clients import Api, SocketClient
from tests.conftest import BASE_ENV
from tests.servers import Replica

FRAME = b"\0" * (64 * 1024 - 16)


@pytest.fixture(scope="module")
def replica() -> Iterator[Replica]:
    started = Replica(name="hostile", env=dict(BASE_ENV)).start()
    yield started
    started.kill()


async def raw_socket(replica: Replica) -> ClientConnection:
    url = replica.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    ws = await connect(url, max_size=None)
    opened = await ws.recv()
    assert isinstance(opened, str) and opened.startswith("0{")
    return ws


async def authenticated(replica: Replica) -> ClientConnection:
    token = (await Api.guest(replica.url)).token
    ws = await raw_socket(replica)
    await ws.send("40" + json.dumps({"token": token}))
    reply = await ws.recv()
    assert isinstance(reply, str) and reply.startswith("40{"), reply
    return ws


async def closed_by_server(ws: ClientConnection, within: float = 5) -> bool:
    """Whether the server closes the connection (a refusal is immediate; the bound only ends
    the wait on a server that keeps the connection open)."""

    async def drain() -> None:
        while True:
            await ws.recv()

    try:
        await asyncio.wait_for(drain(), within)
    except ConnectionClosed:
        return True
    except TimeoutError:
        return False
    return False


def rss(replica: Replica) -> int:
    assert replica.proc is not None
    return int(psutil.Process(replica.proc.pid).memory_info().rss)


async def still_serving(replica: Replica, sockets: Callable[..., SocketClient]) -> None:
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{replica.url}/readyz")).status_code == 200
    api = await Api.guest(replica.url)
    room = await api.create_room()
    ws = await sockets(replica.url, api.token).connect()
    assert (await ws.call("join", {"room_id": room["room_id"]}))["ok"]


@pytest.mark.parametrize(
    "header",
    [
        # A binary event that declares far more attachments than it will ever send.
        '451-["message",{"_placeholder":true,"num":0}]',
        "45" + "9" * 9 + "-" + json.dumps(["message", {"_placeholder": True, "num": 0}]),
        # A binary ack.
        '461-0[{"_placeholder":true,"num":0}]',
    ],
)
async def test_binary_events_close_the_connection_before_memory_grows(
    replica: Replica, sockets: Callable[..., SocketClient], header: str
) -> None:
    ws = await authenticated(replica)
    before = rss(replica)
    await ws.send(header)
    sent = 0
    try:
        for _ in range(400):  # 25 MiB, if nobody stops us
            await ws.send(FRAME)
            sent += 1
        closed = await closed_by_server(ws)
    except ConnectionClosed:
        closed = True
    assert closed, f"the replica accepted {sent} binary attachments"
    assert rss(replica) - before < 16 * 1024 * 1024
    await still_serving(replica, sockets)


@pytest.mark.parametrize(
    "packet",
    [
        b"\x01\x02binary without a header",
        '42["message",{"room_id":"r","text":{"_placeholder":true,"num":0},"client_id":"a"}]',
    ],
)
async def test_binary_frames_and_placeholders_in_text_events_close_the_connection(
    replica: Replica, sockets: Callable[..., SocketClient], packet: Any
) -> None:
    ws = await authenticated(replica)
    await ws.send(packet)
    assert await closed_by_server(ws)
    await still_serving(replica, sockets)


MALFORMED: list[str | bytes] = [
    "x",
    "4x",
    "49",
    "42[",
    "42{}",
    '451-["message",{}]',
    "44{bad",
    "43",
    "41/nowhere,",
    "4" + "9" * 120,
    "40/admin,",
    b"\x00\x01\x02",
    "",
    "6",
    "5",
    "42" + "[" * 5000,
    '40{"token":"' + "x" * 100 + '"}',
    '42["join"]',
    "4-",
    "45",
    "4" + "5" * 11 + "-[]",
]


async def test_malformed_packets_log_at_most_one_json_line_each(
    start_replica: Callable[..., Replica], sockets: Callable[..., SocketClient]
) -> None:
    fresh = start_replica("malformed-packets")
    logged_before = len(fresh.log_text().splitlines())
    for packet in MALFORMED:
        # A fresh connection per packet: unauthenticated clients that never connected.
        ws = await raw_socket(fresh)
        try:
            await ws.send(packet)
            await closed_by_server(ws, within=1)
        except ConnectionClosed:
            pass
        finally:
            await ws.close()
    await still_serving(fresh, sockets)
    lines = fresh.log_text().splitlines()[logged_before:]
    for line in lines:
        json.loads(line)  # every line is JSON: no bare tracebacks, no second handler
    assert "Traceback" not in "\n".join(lines)
    assert len(lines) <= len(MALFORMED), "\n".join(lines)
