"""A lean Engine.IO socket: the websocket transport without a writer task or a task per message.

python-engineio's ``AsyncSocket`` puts every outgoing packet on an ``asyncio.Queue`` that a
writer task drains into the websocket, wraps every receive in a new task under ``wait_for``
(its ping timeout), and keeps a task asleep per connection until its next ping. Each message
then costs several task switches, and each idle connection holds a queue, a writer task, a
pending receive task and a ping task.

``LeanSocket`` writes packets to the websocket at once, in order, from whoever sends them
(``send_nowait``: synchronous, never suspends), reads in the connection's own ASGI task, and
keeps time with two loop timers (ping, then the pong deadline). When the peer's TCP window
is full (uvicorn pauses writing) packets wait in a backlog that one flusher task drains in
order; a backlog past ``MAX_BACKLOG_BYTES`` means a client that stopped reading, and the
connection is dropped rather than buffered without end. The polling transport, and the
polling → websocket upgrade, keep engineio's queue (created only for them).

Under uvicorn with our websocket protocol (``app/realtime/wsprotocol.py``) a socket also skips
the ASGI queue both ways: text frames go straight to the transport (with the others of the
same event-loop turn) while it is not paused, and an event of the default namespace is handed
to the Socket.IO server (``LeanEngine.on_message_nowait``) as its frame is parsed, when
nothing received before it is still waiting for the connection's task; everything else goes
through that task, in order.
"""

from __future__ import annotations

import asyncio
import collections
import time
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

import engineio
from engineio import exceptions, packet
from engineio.async_socket import AsyncSocket

from app.realtime.wsprotocol import LeanWebSocketProtocol

AsgiMessage = dict[str, Any]
AsgiSend = Callable[[AsgiMessage], Coroutine[Any, Any, None]]
AsgiReceive = Callable[[], Awaitable[AsgiMessage]]

# What may wait for a client whose TCP window is full before it counts as not reading: a burst
# of room events (a few hundred chat messages) fits, an unbounded stream does not.
MAX_BACKLOG_BYTES = 1024 * 1024


@types.coroutine
def _resume(coro: Coroutine[Any, Any, Any], yielded: Any) -> Generator[Any, Any, None]:
    """Carry on, inside a task, a coroutine that was started by hand and suspended at
    ``yielded`` (what ``yield from`` does, minus the first send)."""
    while True:
        try:
            value = yield yielded
        except BaseException as exc:  # handed to the coroutine, as a task would
            try:
                yielded = coro.throw(exc)
            except StopIteration:
                return
        else:
            try:
                yielded = coro.send(value)
            except StopIteration:
                return


def _frame(pkt: packet.Packet) -> AsgiMessage:
    data = pkt.encode()
    if isinstance(data, bytes):
        return {"type": "websocket.send", "bytes": data}
    return {"type": "websocket.send", "text": data}


class LeanSocket(AsyncSocket):  # type: ignore[misc]
    """One Engine.IO session (see the module docstring)."""

    def __init__(self, server: engineio.AsyncServer, sid: str) -> None:
        # BaseSocket's attributes, without its queue: a websocket session never needs one.
        self.server = server
        self.sid = sid
        self.last_ping: float | None = time.time()
        self.connected = False
        self.upgrading = False
        self.upgraded = False
        self.closing = False
        self.closed = False
        self.session: dict[str, Any] = {}
        self._queue: asyncio.Queue[packet.Packet | None] | None = None
        self._send: AsgiSend | None = None  # the websocket's ASGI send, once it carries packets
        # The same websocket's protocol, when it is ours: the direct data path both ways.
        self._ws: LeanWebSocketProtocol | None = None
        self._busy = False  # the connection's task is handling a message it received
        self._backlog: collections.deque[AsgiMessage] | None = None  # while writing is paused
        self._backlog_bytes = 0
        self._flusher: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._ws_closed = False

    @property
    def queue(self) -> asyncio.Queue[packet.Packet | None]:
        """engineio's packet queue: the polling transport's, and whatever is sent before the
        websocket is accepted or while it is being upgraded to."""
        if self._queue is None:
            self._queue = asyncio.Queue()
        return self._queue

    # -- sending -----------------------------------------------------------------------------

    def send_nowait(self, pkt: packet.Packet) -> None:
        """Send a packet now, in order with every other: written to the websocket, or queued
        for the polling transport. Never suspends; a closed session drops it."""
        if self.closed:
            return
        if self._send is None:
            if self.upgraded:
                return  # the websocket is gone; the receive loop is closing the session
            self.queue.put_nowait(pkt)
            return
        data = pkt.encode()
        if isinstance(data, str):
            self._write_text(data)
        else:
            self._write({"type": "websocket.send", "bytes": data})

    def send_message_nowait(self, encoded: str) -> None:
        """``send_nowait`` of an Engine.IO MESSAGE carrying ``encoded`` (a Socket.IO packet,
        encoded), without building the packet object on the websocket."""
        if self.closed:
            return
        if self._send is None:
            if self.upgraded:
                return
            self.queue.put_nowait(packet.Packet(packet.MESSAGE, encoded))
        else:
            self._write_text("4" + encoded)

    async def send(self, pkt: packet.Packet) -> None:
        if await self.check_ping_timeout():
            self.send_nowait(pkt)

    def _write_text(self, text: str) -> None:
        if self._backlog is None and self._ws is not None and self._ws.write_text(text):
            return
        self._write({"type": "websocket.send", "text": text})

    def _write(self, message: AsgiMessage) -> None:
        if self._backlog is not None:
            self._backlog.append(message)
            self._backlog_bytes += len(message.get("text") or message.get("bytes") or b"")
            if self._backlog_bytes > MAX_BACKLOG_BYTES:
                self.server.logger.info("%s: client is not reading; dropping it", self.sid)
                self._abort()
            return
        assert self._send is not None
        # uvicorn's send writes synchronously unless the transport is paused, so drive it by
        # hand: done at once in the common case, handed to a flusher task otherwise.
        coro = self._send(message)
        try:
            yielded = coro.send(None)
        except StopIteration:
            return
        except Exception:  # the client is gone; the receive loop sees it too
            self._lost()
            return
        self._backlog = collections.deque()
        self._flusher = asyncio.get_running_loop().create_task(self._flush(coro, yielded))

    async def _flush(self, coro: Coroutine[Any, Any, Any], yielded: Any) -> None:
        try:
            await _resume(coro, yielded)
            while self._backlog and self._send is not None:
                message = self._backlog.popleft()
                self._backlog_bytes -= len(message.get("text") or message.get("bytes") or b"")
                await self._send(message)
        except Exception:  # the client is gone; the receive loop sees it too
            self._lost()
        finally:
            self._backlog = None
            self._backlog_bytes = 0
            self._flusher = None
            if self._ws_closed:  # the close went out: no need to drop the connection
                self._send = None
                self._ws = None
                self._cancel_timer()

    def _lost(self) -> None:
        self._send = None
        self._ws = None
        self._backlog = None
        self._backlog_bytes = 0

    def _end_websocket(self) -> None:
        """Close the websocket after what was sent before. A peer that is slow to read gets
        ping_timeout to take the rest; one that does not read is then dropped."""
        if self._ws_closed or self._send is None:
            return
        self._write({"type": "websocket.close"})
        self._ws_closed = True
        if self._backlog is not None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self.server.ping_timeout, self._abort)
        else:
            self._send = None
            self._ws = None

    def _abort(self) -> None:
        """Drop a connection whose peer does not read: the backlog goes, and so does the TCP
        connection. uvicorn's ASGI interface has no abort, and a transport's close waits for
        the peer to read what is buffered, so reach the transport behind the send."""
        send = self._send
        self._lost()
        self._ws_closed = True
        self._cancel_timer()
        if self._flusher is not None:
            self._flusher.cancel()
        # uvicorn's protocol (asyncio's or uvloop's transport); then uvicorn ends the receive
        # loop with websocket.disconnect. Under another server the session still closes and
        # its backlog goes; the connection ends when the peer ends it.
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        abort = getattr(transport, "abort", None)
        if callable(abort):
            abort()
        if not self.closing and not self.closed:
            self.server.start_background_task(
                self.close, wait=False, abort=True, reason=self.server.reason.TRANSPORT_ERROR
            )

    async def close(self, wait: bool = True, abort: bool = False, reason: Any = None) -> None:
        # engineio's, but the CLOSE packet goes out whatever the ping clock says (engineio's
        # goes through send(), which drops it when the close is for a ping timeout).
        if not self.closed and not self.closing:
            self.closing = True
            await self.server._trigger_event(
                "disconnect", self.sid, reason or self.server.reason.SERVER_DISCONNECT
            )
            if not abort:
                self.send_nowait(packet.Packet(packet.CLOSE))
            self.closed = True
            if wait and self._queue is not None:
                await self._queue.join()
        self._cancel_timer()
        self._end_websocket()

    # -- ping / pong --------------------------------------------------------------------------

    def schedule_ping(self) -> None:
        # Called at connect and on every PONG: the next ping after ping_interval.
        if self.last_ping:
            self.last_ping = None
            self._cancel_timer()
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self.server.ping_interval, self._ping)

    def _ping(self) -> None:
        self._timer = None
        if self.closing or self.closed:
            return
        self.last_ping = time.time()
        self.send_nowait(packet.Packet(packet.PING))
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.server.ping_timeout, self._pong_overdue)

    def _pong_overdue(self) -> None:
        self._timer = None
        if not self.closing and not self.closed:
            self.server.logger.info("%s: Client is gone, closing socket", self.sid)
            # abort=False writes a CLOSE packet first, as engineio does for a ping timeout.
            self.server.start_background_task(
                self.close, wait=False, abort=False, reason=self.server.reason.PING_TIMEOUT
            )

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- the websocket ------------------------------------------------------------------------

    async def _upgrade_websocket(self, environ: dict[str, Any]) -> Any:
        if self.upgraded:
            raise OSError("Socket has been upgraded already")
        send: AsgiSend = environ["asgi.send"]
        receive: AsgiReceive = environ["asgi.receive"]
        # The handshake's headers are not needed past this point; the session only keeps the
        # scope (client_ip reads its peer address). The dict is shared with python-socketio.
        scope = environ["asgi.scope"]
        environ.clear()
        environ["asgi.scope"] = scope
        await send({"type": "websocket.accept"})
        await self._run_websocket(send, receive)
        return ""  # the response was the websocket itself

    async def _next(self, receive: AsgiReceive) -> str | bytes | None:
        message = await receive()
        if message["type"] != "websocket.receive":
            return None
        data: str | bytes | None = message.get("text")
        if data is None:
            data = message.get("bytes")
        if data is not None and len(data) > self.server.max_http_buffer_size:
            self.server.logger.info("%s: packet is too large; closing", self.sid)
            return None
        return data

    async def _upgrade_handshake(self, send: AsgiSend, receive: AsgiReceive) -> bool:
        """polling → websocket: PING probe, PONG probe, then UPGRADE (engineio's steps)."""
        self.upgrading = True  # hold packet sends during the upgrade
        try:
            data = await self._next(receive)
            if data is None:
                return False
            pkt = packet.Packet(encoded_packet=data)
            if pkt.packet_type != packet.PING or pkt.data != "probe":
                self.server.logger.info("%s: Failed websocket upgrade, no PING packet", self.sid)
                return False
            await send(_frame(packet.Packet(packet.PONG, data="probe")))
            self.queue.put_nowait(packet.Packet(packet.NOOP))  # ends the pending poll
            data = await self._next(receive)
            if data is None:
                return False
            if packet.Packet(encoded_packet=data).packet_type != packet.UPGRADE:
                self.server.logger.info("%s: Failed websocket upgrade, no UPGRADE", self.sid)
                return False
            self.upgraded = True
            return True
        finally:
            self.upgrading = False

    def _send_queued(self) -> None:
        """What was sent before the websocket carried packets (the OPEN packet, or what came
        during the upgrade) goes first; the queue is not needed after that."""
        queue, self._queue = self._queue, None
        while queue is not None and not queue.empty():
            pending = queue.get_nowait()
            if pending is not None:
                self.send_nowait(pending)

    async def _run_websocket(self, send: AsgiSend, receive: AsgiReceive) -> None:
        if self.connected:
            if not await self._upgrade_handshake(send, receive):
                return
        else:
            self.connected = True
            self.upgraded = True
        self._send = send
        ws = getattr(send, "__self__", None)
        if isinstance(ws, LeanWebSocketProtocol):
            self._ws = ws
        self._send_queued()
        self.server.logger.info("%s: Upgrade to websocket successful", self.sid)
        if self._ws is not None:
            self._ws.listener = self._take
        try:
            while self._send is not None:
                data = await self._next(receive)
                if data is None:
                    break
                self._busy = True
                try:
                    # A frame that is not an Engine.IO packet raises here: the app's ASGI
                    # wrapper counts and logs the refusal (after the close below).
                    pkt = packet.Packet(encoded_packet=data)
                    try:
                        await self.receive(pkt)
                    except exceptions.UnknownPacketError:
                        pass
                    except exceptions.SocketIsClosedError:
                        break
                    except Exception:
                        self.server.logger.exception("Unknown receive error")
                finally:
                    self._busy = False
        finally:
            if isinstance(ws, LeanWebSocketProtocol):
                ws.listener = None
            await self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)

    def _take(self, text: str) -> bool:
        """The websocket's listener: handles a received message now (True), or leaves it to
        the connection's task (False) when anything received before it is still waiting there
        (order), when it is not a message or pong, or when it is refused on that path."""
        ws = self._ws
        if ws is None or self._busy or not ws.queue.empty() or self._send is None:
            return False  # (no ws: the connection was lost; its task is ending the session)
        if len(text) > self.server.max_http_buffer_size:
            return False  # closed by the connection's task, with its log line
        kind = text[:1]
        if kind == "4":
            take = self.server.on_message_nowait
            return take is not None and bool(take(self.sid, text[1:]))
        if text == "3":  # PONG
            self.schedule_ping()
            return True
        return False


class LeanEngine(engineio.AsyncServer):  # type: ignore[misc]
    """engineio's server, making a ``LeanSocket`` for every session.

    ``_handle_connect`` is engineio's own (4.x), with the socket class swapped: engineio has no
    hook for it.
    """

    # Set by the Socket.IO server: takes the data of a MESSAGE as it arrives on a websocket
    # (True), or leaves it to the socket's task, which hands it to the "message" handler.
    on_message_nowait: Callable[[str, str], bool] | None = None

    async def _handle_connect(
        self, environ: dict[str, Any], transport: str, jsonp_index: int | None = None
    ) -> Any:
        if self.start_service_task:  # type: ignore[has-type]
            # engineio's sweep of sessions: ping timeouts of polling clients, closed sessions.
            self.start_service_task = False
            self.service_task_handle = self.start_background_task(self._service_task)
        sid = self.generate_id()
        s = LeanSocket(self, sid)
        self.sockets[sid] = s
        s.send_nowait(
            packet.Packet(
                packet.OPEN,
                {
                    "sid": sid,
                    "upgrades": self._upgrades(sid, transport),
                    "pingTimeout": int(self.ping_timeout * 1000),
                    "pingInterval": int(self.ping_interval + self.ping_interval_grace_period)
                    * 1000,
                    "maxPayload": self.max_http_buffer_size,
                },
            )
        )
        ret = await self._trigger_event("connect", sid, environ, run_async=False)
        if ret is not None and ret is not True:
            del self.sockets[sid]
            self.logger.warning("Application rejected connection")
            return self._unauthorized(ret or None)
        s.schedule_ping()
        if transport == "websocket":
            ret = await s.handle_get_request(environ)
            if s.closed and sid in self.sockets:
                del self.sockets[sid]
            return ret
        s.connected = True
        headers = None
        if self.cookie:
            options = (
                self.cookie
                if isinstance(self.cookie, dict)
                else {"name": self.cookie, "path": "/", "SameSite": "Lax"}
            )
            headers = [("Set-Cookie", self._generate_sid_cookie(sid, options))]
        try:
            return self._ok(await s.poll(), headers=headers, jsonp_index=jsonp_index)
        except exceptions.QueueEmpty:
            return self._bad_request()
