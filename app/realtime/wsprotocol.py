"""uvicorn's websocket protocol (websockets' sans-I/O implementation), keeping less per
connection.

An idle websocket costs what each connection holds for its whole life. uvicorn's protocol keeps
the handshake request and response (headers parsed into websockets' structures) and the
scope's raw headers after the handshake, and gives every connection an ``asyncio.Queue`` and an
``asyncio.Event`` (four and one ``collections.deque``, about 3.5 KiB together). Here the
handshake objects go once the connection is accepted, and the receive queue and the
"writable" flag are small single-reader versions of the same interface (only the
connection's ASGI task reads; only the transport's callbacks write).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


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


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's ``websockets-sansio`` protocol with the lighter queue and flag, and nothing of
    the handshake kept past it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Inbox()  # type: ignore[assignment]
        self.writable = Flag()  # type: ignore[assignment]

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
