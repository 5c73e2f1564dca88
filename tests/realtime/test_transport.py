"""The Engine.IO transport as a client lives it: many events to one client arrive in order and
complete, a client that stops reading is dropped without holding up anyone else, a client
that stops answering pings is closed (and one that answers is not), packets sent together are
handled in order, the largest events arrive whole, a browser offering per-message deflate gets
plain frames, and long-polling (with its upgrade to websocket) works."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

from app.realtime.schemas import MAX_SDP_BYTES
from tests.clients import Api, SocketClient
from tests.conftest import BASE_ENV
from tests.servers import Replica

PING_SECONDS = 1.0


@pytest.fixture(scope="module")
def replica() -> Iterator[Replica]:
    # Short Engine.IO keepalive, so that a silent client is found out within seconds.
    env = {
        **BASE_ENV,
        "HOLO_SOCKET_PING_INTERVAL_SECONDS": str(PING_SECONDS),
        "HOLO_SOCKET_PING_TIMEOUT_SECONDS": str(PING_SECONDS),
    }
    started = Replica(name="transport", env=env).start()
    yield started
    started.kill()


class RawClient:
    """A Socket.IO client on a bare socket (websockets' sans-I/O protocol for the framing):
    it reads only when told to, and answers nothing by itself, not even the Engine.IO PING."""

    def __init__(self, sock: socket.socket, *, deflate: bool = False) -> None:
        self.sock = sock
        # deflate: offer per-message compression, as browsers do.
        extensions = [ClientPerMessageDeflateFactory()] if deflate else None
        self.ws = ClientProtocol(parse_uri("ws://localhost/"), extensions=extensions, max_size=None)
        self.loop = asyncio.get_running_loop()
        self.frames: list[str] = []

    @classmethod
    async def open(
        cls,
        replica: Replica,
        token: str | None,
        *,
        rcvbuf: int | None = None,
        deflate: bool = False,
        connect: bool = True,
    ) -> RawClient:
        """A websocket with the Engine.IO session open and (with ``connect``) the Socket.IO
        connection made."""
        sock = socket.socket()
        if rcvbuf is not None:  # a small receive window: the server's writes back up sooner
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        client = cls(sock, deflate=deflate)
        await client.loop.sock_connect(sock, ("127.0.0.1", replica.port))
        request = client.ws.connect()
        request.path = "/socket.io/?EIO=4&transport=websocket"
        request.headers["Host"] = f"127.0.0.1:{replica.port}"
        client.ws.send_request(request)
        await client.flush()
        assert (await client.recv()).startswith("0{")  # OPEN
        if connect:
            await client.send("40" + json.dumps({"token": token}))
            reply = await client.recv()
            assert reply.startswith("40{"), reply
        return client

    async def flush(self) -> None:
        await self.loop.sock_sendall(self.sock, b"".join(self.ws.data_to_send()))

    async def send(self, *texts: str) -> None:
        """Text frames, written to the socket together."""
        for text in texts:
            self.ws.send_text(text.encode())
        await self.flush()

    async def recv(self) -> str:
        """The next text frame; ConnectionClosed once the server closed or dropped the
        connection."""
        while not self.frames:
            # The close frame may have come in the same read as the last text frames.
            if self.ws.close_rcvd is not None:
                raise ConnectionClosed(self.ws.close_rcvd, None)
            data = await self.loop.sock_recv(self.sock, 65536)
            if data:
                self.ws.receive_data(data)
            else:
                self.ws.receive_eof()
            for event in self.ws.events_received():
                if isinstance(event, Frame) and event.opcode == Opcode.TEXT:
                    self.frames.append(bytes(event.data).decode())
            if not self.frames and not data:
                raise ConnectionClosed(self.ws.close_rcvd, None)
        return self.frames.pop(0)

    async def call(self, n: int, event: str, data: Any) -> Any:
        await self.send(f"42{n}" + json.dumps([event, data]))
        while not (frame := await self.recv()).startswith(f"43{n}"):
            pass
        return json.loads(frame[len(f"43{n}") :])[0]

    async def ack(self, n: int) -> Any:
        """The next frame, which must be the ack of call ``n``."""
        frame = await self.recv()
        assert frame.startswith(f"43{n}"), frame
        return json.loads(frame[len(f"43{n}") :])[0]

    def close(self) -> None:
        self.sock.close()


async def two_in_a_room(
    replica: Replica, sockets: Callable[..., SocketClient], **options: Any
) -> tuple[str, SocketClient, SocketClient, str]:
    """A room with its host and a guest joined, each on a Socket.IO client (``options``:
    the client's); the room id and the guest's sid."""
    host = await Api.guest(replica.url, "Host")
    room = await host.create_room()
    rid, invite = room["room_id"], room["invite_token"]
    guest = await Api.guest(replica.url, "Guest")
    a = await sockets(replica.url, host.token, **options).connect()
    assert (await a.call("join", {"room_id": rid}))["ok"]
    b = await sockets(replica.url, guest.token, **options).connect()
    joined = await b.call("join", {"room_id": rid, "invite_token": invite})
    assert joined["ok"], joined
    return rid, a, b, joined["you"]["sid"]


async def test_many_events_to_one_client_arrive_complete_and_in_order(
    replica: Replica, sockets: Callable[..., SocketClient]
) -> None:
    rid, reader, writer, _ = await two_in_a_room(replica, sockets)

    # Acks are not awaited one by one: the events pile up on the server and go out together.
    count = 400
    acks = await asyncio.gather(
        *(
            writer.call("message", {"room_id": rid, "text": f"m{i}", "client_id": f"c{i}"})
            for i in range(count)
        )
    )
    assert all(ack["ok"] for ack in acks)
    received = [await reader.next("message") for _ in range(count)]
    # Every one, in the room's order (the order the server stored them in).
    assert sorted(m["text"] for m in received) == sorted(f"m{i}" for i in range(count))
    seqs = [m["seq"] for m in received]
    assert seqs == list(range(seqs[0], seqs[0] + count))


async def test_a_client_that_stops_reading_is_dropped_and_others_carry_on(
    replica: Replica, sockets: Callable[..., SocketClient]
) -> None:
    host = await Api.guest(replica.url, "Host")
    room = await host.create_room()
    rid, invite = room["room_id"], room["invite_token"]
    guest = await Api.guest(replica.url, "Stalled")
    sender = await sockets(replica.url, host.token).connect()
    assert (await sender.call("join", {"room_id": rid}))["ok"]
    # A tiny receive window, and a client that never reads after joining.
    stalled = await RawClient.open(replica, guest.token, rcvbuf=4096)
    joined = await stalled.call(1, "join", {"room_id": rid, "invite_token": invite})
    assert joined["ok"], joined
    stalled_sid = (await sender.next("peer-joined"))["sid"]

    # Offers of 64 KiB to it, until the server gives up on it: more than the kernel's buffers
    # and the transport's backlog hold (the server tells the room it left).
    sdp = {"type": "offer", "sdp": "v=0\r\n" + "a" * (60 * 1024)}
    for _ in range(400):
        ack = await sender.call("offer", {"room_id": rid, "to": stalled_sid, "sdp": sdp})
        if not ack["ok"]:
            assert ack["error"]["code"] == "peer_not_found", ack
            break
    else:
        pytest.fail("the server kept buffering for a client that does not read")
    assert (await sender.next("peer-left"))["sid"] == stalled_sid

    # Everyone else carried on meanwhile, and still does.
    other = await Api.guest(replica.url, "Other")
    other_room = await other.create_room()
    talker = await sockets(replica.url, other.token).connect()
    assert (await talker.call("join", {"room_id": other_room["room_id"]}))["ok"]
    said = {"room_id": other_room["room_id"], "text": "still here", "client_id": "c1"}
    assert (await talker.call("message", said))["ok"]
    with pytest.raises((ConnectionClosed, ConnectionError)):
        while True:
            await asyncio.wait_for(stalled.recv(), 10)
    stalled.close()


async def test_a_client_that_stops_answering_pings_is_closed(replica: Replica) -> None:
    host = await Api.guest(replica.url, "Silent")
    silent = await RawClient.open(replica, host.token)
    # The bare client never answers the Engine.IO PING (the websocket layer's own pings are
    # answered by the library: the connection is alive, the Engine.IO client is not).
    frames: list[Any] = []
    with pytest.raises(ConnectionClosed):
        while True:
            frames.append(await asyncio.wait_for(silent.recv(), 10 * PING_SECONDS))
    assert frames[0] == "2"  # the PING it left unanswered
    assert frames[-1] == "1"  # and the CLOSE it was sent
    silent.close()


async def test_a_client_that_answers_pings_stays_connected(replica: Replica) -> None:
    host = await Api.guest(replica.url, "Awake")
    client = await RawClient.open(replica, host.token)
    # Three pings, each answered: longer than a ping interval and timeout together.
    for _ in range(3):
        assert await asyncio.wait_for(client.recv(), 10 * PING_SECONDS) == "2"
        await client.send("3")
    room = await host.create_room()
    assert (await client.call(1, "join", {"room_id": room["room_id"]}))["ok"]
    client.close()


async def test_packets_sent_together_are_handled_in_order(replica: Replica) -> None:
    host = await Api.guest(replica.url, "Eager")
    room = await host.create_room()
    rid = room["room_id"]
    client = await RawClient.open(replica, host.token, connect=False)
    # The connection and a join in one write: the join waits for the connection (which takes
    # a round trip to Redis), as it would if it came later.
    join = "421" + json.dumps(["join", {"room_id": rid}])
    await client.send("40" + json.dumps({"token": host.token}), join)
    assert (await client.recv()).startswith("40{")
    assert (await client.ack(1))["ok"]
    # Then messages in one write: every one is handled, in the room's order.
    said = [
        f"42{n}" + json.dumps(["message", {"room_id": rid, "text": f"m{n}", "client_id": f"c{n}"}])
        for n in range(2, 12)
    ]
    await client.send(*said)
    acks = {}
    for _ in said:
        frame = await client.recv()
        n = int(frame[2 : frame.index("[")])
        acks[n] = json.loads(frame[frame.index("[") :])[0]
    assert all(ack["ok"] for ack in acks.values()), acks
    seqs = [acks[n]["message"]["seq"] for n in range(2, 12)]
    assert seqs == list(range(seqs[0], seqs[0] + len(said)))
    client.close()


async def test_an_event_after_a_disconnect_in_the_same_write_is_not_handled(
    replica: Replica,
) -> None:
    host = await Api.guest(replica.url, "Leaving")
    room = await host.create_room()
    rid = room["room_id"]
    client = await RawClient.open(replica, host.token)
    assert (await client.call(1, "join", {"room_id": rid}))["ok"]
    # Leaving the namespace, then a message, in one write: the message comes after the leave
    # (which the connection's task handles), so it is an event before connecting: refused.
    said = "422" + json.dumps(["message", {"room_id": rid, "text": "late", "client_id": "c"}])
    await client.send("41", said)
    frames = []
    with pytest.raises((ConnectionClosed, ConnectionError)):
        while True:
            frames.append(await asyncio.wait_for(client.recv(), 10))
    assert not [f for f in frames if f.startswith("432")], frames
    client.close()
    listed = await host.request("GET", f"/api/rooms/{rid}/messages")
    assert listed.status_code == 200 and listed.json()["messages"] == []


async def test_the_largest_offer_arrives_whole(
    replica: Replica, sockets: Callable[..., SocketClient]
) -> None:
    rid, a, b, b_sid = await two_in_a_room(replica, sockets)
    # A frame over 64 KiB (the longest length encoding), with text that is not ASCII.
    sdp = "v=0\r\ns=Café €\r\n" + "a" * (MAX_SDP_BYTES - 64)
    offer = {"room_id": rid, "to": b_sid, "sdp": {"type": "offer", "sdp": sdp}}
    assert (await a.call("offer", offer))["ok"]
    assert (await b.next("offer"))["sdp"]["sdp"] == sdp


async def test_a_browser_offering_deflate_gets_plain_frames(replica: Replica) -> None:
    host = await Api.guest(replica.url, "Browser")
    client = await RawClient.open(replica, host.token, deflate=True)
    # Not negotiated: the frames are small JSON, not worth a zlib stream per connection.
    assert client.ws.extensions == []
    room = await host.create_room()
    joined = await client.call(1, "join", {"room_id": room["room_id"]})
    assert joined["ok"] and joined["you"]["display_name"] == "Browser"
    client.close()


@pytest.mark.parametrize("transports", [["polling"], ["polling", "websocket"]])
async def test_polling_and_its_upgrade_to_websocket_work(
    replica: Replica, sockets: Callable[..., SocketClient], transports: list[str]
) -> None:
    rid, a, b, _ = await two_in_a_room(replica, sockets, transports=transports)
    for i in range(20):
        said = {"room_id": rid, "text": f"m{i}", "client_id": f"c{i}"}
        assert (await b.call("message", said))["ok"]
    assert [(await a.next("message"))["text"] for _ in range(20)] == [f"m{i}" for i in range(20)]
    expected = "websocket" if "websocket" in transports else "polling"
    assert a.sio.eio.current_transport == expected
