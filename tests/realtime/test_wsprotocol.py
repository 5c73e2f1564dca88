"""The websocket's direct write path: the frames it builds are the ones websockets would send,
those of one loop turn go out together, and nothing overtakes them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from app.realtime.wsprotocol import LeanWebSocketProtocol, text_frame


@pytest.mark.parametrize(
    "text",
    ["", "2", "a" * 125, "a" * 126, "é" * 63, "a" * 65535, "a" * 65536, "€" * 30000],
    ids=["empty", "one", "125", "126", "multibyte-126", "65535", "65536", "multibyte-90000"],
)
def test_a_text_frame_is_what_websockets_would_write(text: str) -> None:
    expected = Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])
    assert text_frame(text) == expected


class Transport(asyncio.Transport):
    """Records what the protocol writes, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        self.writes.append(b"".join(list_of_data))

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 8000) if name in ("sockname", "peername") else default


async def _no_app(scope: Any, receive: Any, send: Any) -> None:
    pass


@pytest.fixture
async def connection() -> tuple[LeanWebSocketProtocol, Transport]:
    """A websocket past its handshake, on a transport that records its writes."""
    config = uvicorn.Config(_no_app, ws_per_message_deflate=False)
    config.load()
    protocol = LeanWebSocketProtocol(config, ServerState(), {}, asyncio.get_running_loop())
    transport = Transport()
    protocol.connection_made(transport)
    protocol.conn.state = State.OPEN
    protocol.handshake_complete = True
    return protocol, transport


async def test_the_frames_of_one_turn_go_out_in_one_write(
    connection: tuple[LeanWebSocketProtocol, Transport],
) -> None:
    protocol, transport = connection
    assert protocol.write_text("42[1]") and protocol.write_text("430[2]")
    assert transport.writes == []  # not before the turn is over
    await asyncio.sleep(0)  # the loop's next turn
    assert transport.writes == [text_frame("42[1]") + text_frame("430[2]")]


async def test_what_uvicorn_writes_itself_goes_after_what_waits(
    connection: tuple[LeanWebSocketProtocol, Transport],
) -> None:
    protocol, transport = connection
    assert protocol.write_text("42[1]")
    await protocol.send({"type": "websocket.close", "code": 1000})
    assert transport.writes[0] == text_frame("42[1]")
    assert transport.writes[1][0] == 0x88  # the close frame, after
    assert not protocol.write_text("42[2]")  # closed: the caller's way, which refuses it


async def test_frames_for_a_connection_that_was_dropped_are_not_written(
    connection: tuple[LeanWebSocketProtocol, Transport],
) -> None:
    protocol, transport = connection
    assert protocol.write_text("42[1]")
    transport.closing = True  # aborted in the same turn
    await asyncio.sleep(0)
    assert transport.writes == []
