"""uvicorn's websocket protocol (websockets' sans-I/O implementation), keeping less per
connection.

An idle websocket costs what each connection holds for its whole life. uvicorn's protocol keeps
the handshake request and response (headers parsed into websockets' structures) and the
scope's raw headers after the handshake, and gives every connection an ``asyncio.Queue`` and an
``asyncio.Event`` (four and one ``collections.deque``, about 3.5 KiB together). Here the
handshake objects go once the connection is accepted, and the receive queue and the
"writable" flag are small single-reader versions of the same interface (only the
connection's ASGI task reads; only the transport's callbacks write).

It also gives the Engine.IO socket on top (``app/realtime/transport.py``) a direct data path,
past the ASGI queue, for what a busy connection does all day:

- **receiving**: a ``listener`` may take each text message as it is parsed, in the transport's
  callback. uvicorn otherwise queues it, pauses reading, wakes the connection's ASGI task and
  resumes reading: two task switches and two epoll changes per message. What the listener does
  not take is queued as before, so the ASGI task still sees it in order;
- **sending**: ``write_text`` frames a text message (a server's frames are unmasked: a header
  and the UTF-8 bytes), where uvicorn's ``send`` goes through a coroutine, websockets' frame
  objects and a list of writes per message. Only while nothing stands in the way: an open
  connection, a transport that is not paused, no extension to apply (per-message deflate is
  off, ``app/cli.py``); otherwise the caller uses ``send``.

  The frames a connection is sent during one turn of the event loop go out in one write, at the
  start of the next turn (``Outbox``): an ack and the room events of the same turn cost one
  system call, and wake the client once, instead of one each. Anything uvicorn writes itself
  (its ``send``, a close or pong reply) writes what waits first, so the order on the wire is
  the order of sending.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

# A text frame's first byte: FIN and the TEXT opcode.
_FIN_TEXT = 0x81


class Inbox:
    """The receive queue uvicorn's protocol uses: ``put_nowait``, ``get`` and ``empty``, with
    one reader."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    async def get(self) -> Any:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)


class Flag:
    """``asyncio.Event``'s interface (``set``, ``clear``, ``is_set``, ``wait``) without a deque
    per instance: ``wait`` returns at once, without suspending, while the flag is set."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = True
        self._waiters: list[asyncio.Future[None]] = []

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        return True


class Outbox:
    """The connections of one event loop with frames waiting: written out by one callback at
    the start of the loop's next turn."""

    __slots__ = ("_loop", "_waiting")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiting: list[LeanWebSocketProtocol] = []

    def add(self, protocol: LeanWebSocketProtocol) -> None:
        if not self._waiting:
            self._loop.call_soon(self._flush)
        self._waiting.append(protocol)

    def _flush(self) -> None:
        waiting, self._waiting = self._waiting, []
        for protocol in waiting:
            protocol.flush()


_outboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Outbox] = (
    weakref.WeakKeyDictionary()
)


def _outbox(loop: asyncio.AbstractEventLoop) -> Outbox:
    if (outbox := _outboxes.get(loop)) is None:
        outbox = _outboxes[loop] = Outbox(loop)
    return outbox


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's ``websockets-sansio`` protocol with the lighter queue and flag, nothing of
    the handshake kept past it, and the direct data path (the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Inbox()  # type: ignore[assignment]
        self.writable = Flag()  # type: ignore[assignment]
        # Takes a received text message (True) or leaves it to the ASGI queue (False).
        self.listener: Callable[[str], bool] | None = None
        self._outbox = _outbox(self.loop)
        self._out: list[bytes] | None = None  # frames written this turn, not yet sent

    def send_receive_event_to_app(self) -> None:
        listener = self.listener
        if (
            listener is not None
            and self.curr_msg_data_type == "text"
            and len(self.frames) == 1
            and not self.close_sent
        ):
            try:
                text = self.frames[0].decode()
            except UnicodeDecodeError:
                pass  # uvicorn's path closes the connection (1007)
            else:
                if listener(text):
                    self.frames = []
                    return
        super().send_receive_event_to_app()

    def write_text(self, text: str) -> bool:
        """Write a text message, if nothing stands in the way (see the module docstring); it
        goes out with the others of this turn. False means nothing was written and the caller
        uses ``send``."""
        if (
            self.close_sent
            or self.disconnected
            or not self.writable.is_set()
            or self.conn.state is not State.OPEN
            or self.conn.extensions
            or self.conn.expect_continuation_frame
        ):
            return False
        if self._out is None:
            self._out = [text_frame(text)]
            self._outbox.add(self)
        else:
            self._out.append(text_frame(text))
        return True

    def flush(self) -> None:
        """Write the frames waiting (dropped if the connection is closing: a transport that
        was aborted, or one uvicorn closed after the peer's close)."""
        out, self._out = self._out, None
        if out and not self.transport.is_closing():
            self.transport.writelines(out)

    # uvicorn's own writes: what waits goes first.

    async def send(self, message: Any) -> None:
        self.flush()
        await super().send(message)

    def handle_ping(self) -> None:
        self.flush()
        super().handle_ping()

    def handle_close(self, event: Any) -> None:
        self.flush()
        super().handle_close(event)

    def handle_parser_exception(self) -> None:
        self.flush()
        super().handle_parser_exception()

    def shutdown(self) -> None:
        self.flush()
        super().shutdown()

    def start_keepalive(self) -> None:
        # Called once, right after the handshake response went out: what only the handshake
        # needed goes now (uvicorn reads neither again; the scope keeps the client address
        # and path its log lines use).
        # The parser's generator frame keeps the request object itself: its headers go.
        self.request.headers.clear()
        self.request = None  # type: ignore[assignment]
        self.response = None  # type: ignore[assignment]
        self.scope["headers"] = []
        super().start_keepalive()


def text_frame(text: str) -> bytes:
    """A whole, unmasked text frame (RFC 6455 5.2), as a server sends it."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = bytes((_FIN_TEXT, size))
    elif size < 65536:
        header = bytes((_FIN_TEXT, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((_FIN_TEXT, 127)) + size.to_bytes(8, "big")
    return header + payload
