"""Building the Socket.IO server: in-memory fan-out for one process, Redis for many.

The server also guards the protocol layer: the app never uses binary events, so a binary packet,
an attachment placeholder or a packet that does not parse ends the connection at once, with (at
most) one log line. Left to python-socketio, a binary event header declaring a billion
attachments makes the server keep every frame that follows in memory, and a malformed packet
costs a traceback.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypedDict

import orjson
import socketio
from socketio import packet

from app.config import Settings
from app.observability.metrics import Metrics
from app.realtime import codec
from app.realtime.manager import RedisPubSubManager
from app.realtime.schemas import MAX_SDP_BYTES
from app.realtime.transport import LeanEngine
from app.security.token_bucket import TokenBucket
from app.store import keys

log = logging.getLogger(__name__)

# The largest legitimate event is an offer (64 KiB of SDP) plus its envelope; anything bigger is
# refused by the transport before it is even parsed.
MAX_PACKET_BYTES = MAX_SDP_BYTES + 16 * 1024
# Refusals are logged at this rate at most (the metric counts every one): a flood of bad packets
# must not become a flood of log lines.
REFUSAL_LOGS_PER_SECOND = 1.0
REFUSAL_LOG_BURST = 10

_is_coroutine_function = functools.cache(inspect.iscoroutinefunction)

# An EVENT of the default namespace, with or without an ack id (at most 100 digits, as
# python-socketio reads it), up to its JSON array.
_EVENT_HEAD = re.compile(r"2([0-9]{1,100})?\[")


class Refusal(TypedDict):
    code: str
    message: str


class PacketRefused(Exception):
    """A packet this app never sends and will not parse: the connection is closed."""


def client_ip(environ: dict[str, Any]) -> str:
    """The peer address of a Socket.IO connection (engine.io's own REMOTE_ADDR is a constant
    under ASGI; the scope has the real one, after uvicorn applied trusted forwarded headers)."""
    client = environ.get("asgi.scope", {}).get("client")
    return str(client[0]) if client else "unknown"


def slim_environ(environ: dict[str, Any]) -> dict[str, Any]:
    """What is kept of a session's handshake environ once it is admitted: the peer address
    (``client_ip``). The rest (headers, the handshake request's ASGI callables) is per
    connection memory nothing reads again."""
    return {"asgi.scope": {"client": environ.get("asgi.scope", {}).get("client")}}


def _has_placeholder(data: Any) -> bool:
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "_placeholder" in item:
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def parse_event(data: str) -> tuple[int | None, list[Any]] | None:
    """An EVENT of the default namespace (``2[<ack id>]<JSON array>``), as its ack id and
    arguments, if it is one ``parse_packet`` accepts as is; None for anything else (left to
    ``parse_packet`` and python-socketio, which refuse it with a reason, or read it).
    ``parse_packet`` builds a packet object and python-socketio's decoder searches the whole
    text for an attachment count: this is the one packet a chatting client sends all day."""
    head = _EVENT_HEAD.match(data)
    if head is None:
        return None
    try:
        args = orjson.loads(data[head.end() - 1 :])
    except orjson.JSONDecodeError:
        return None
    if not (args and isinstance(args[0], str)) or _has_placeholder(args):
        return None
    ack_id = head.group(1)
    return (None if ack_id is None else int(ack_id)), args


def parse_packet(data: Any) -> codec.Packet:
    """The Socket.IO packet in an Engine.IO message, if it is one the app accepts."""
    if not isinstance(data, str):
        raise PacketRefused("binary frame")
    try:
        pkt = codec.Packet(encoded_packet=data)
    except (ValueError, RecursionError, TypeError) as exc:
        raise PacketRefused(f"malformed packet ({type(exc).__name__})") from None
    kind = pkt.packet_type
    if kind in (packet.BINARY_EVENT, packet.BINARY_ACK) or pkt.attachment_count:
        raise PacketRefused("binary event")
    if kind not in (packet.CONNECT, packet.DISCONNECT, packet.EVENT, packet.ACK):
        raise PacketRefused("unexpected packet type")
    if kind in (packet.EVENT, packet.ACK) and pkt.namespace not in (None, "/"):
        raise PacketRefused("unknown namespace")
    if kind == packet.EVENT and not (
        isinstance(pkt.data, list) and pkt.data and isinstance(pkt.data[0], str)
    ):
        raise PacketRefused("event without a name")
    if kind == packet.ACK and not isinstance(pkt.data, list):
        raise PacketRefused("ack without arguments")
    if _has_placeholder(pkt.data):
        raise PacketRefused("attachment placeholder")
    return pkt


class TransportGate(Protocol):
    """Told of every Engine.IO transport (signed in or not) as it opens and closes."""

    async def transport_opened(self, eio_sid: str, environ: dict[str, Any]) -> Refusal | None:
        """None admits the transport; a refusal is sent as the handshake's 401 JSON body."""

    async def transport_closed(self, eio_sid: str, environ: dict[str, Any]) -> None: ...


class GuardedServer(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's server with the protocol guard in front of its packet dispatch, and a
    gate on every transport.

    Overrides ``_handle_eio_message`` and the Engine.IO connect/disconnect handlers
    (python-socketio has no public hook before dispatch or at the transport level) and
    dispatches only the four packet types the app uses. Events of the default namespace that
    arrive on a websocket take a shorter way to their handler (``_take_event``), checked the
    same way.
    """

    def __init__(self, *, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._metrics = metrics
        self._refusal_log = TokenBucket(REFUSAL_LOGS_PER_SECOND, REFUSAL_LOG_BURST)
        self.gate: TransportGate | None = None
        self._event_tasks: set[asyncio.Task[None]] = set()
        self.eio.on_message_nowait = self._take_event

    def _engineio_server_class(self) -> type[LeanEngine]:
        return LeanEngine

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        await super()._handle_eio_connect(eio_sid, environ)
        # Our connect handler reads no environ (the token comes in the CONNECT packet).
        self.environ[eio_sid] = slim = slim_environ(environ)
        if self.gate is None:
            return None
        refusal = await self.gate.transport_opened(eio_sid, slim)
        if refusal is not None:
            self.environ.pop(eio_sid, None)
        return refusal

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        environ = self.environ.get(eio_sid)
        await super()._handle_eio_disconnect(eio_sid, reason)
        if self.gate is not None and environ is not None:
            await self.gate.transport_closed(eio_sid, environ)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            pkt = parse_packet(data)
            kind = pkt.packet_type
            if kind in (packet.EVENT, packet.ACK) and not self.manager.sid_from_eio_sid(
                eio_sid, "/"
            ):
                raise PacketRefused("event before connecting")
            if kind == packet.CONNECT:
                await self._handle_connect(eio_sid, pkt.namespace, pkt.data)
            elif kind == packet.DISCONNECT:
                await self._handle_disconnect(eio_sid, pkt.namespace, self.reason.CLIENT_DISCONNECT)
            elif kind == packet.EVENT:
                await self._handle_event(eio_sid, pkt.namespace, pkt.id, pkt.data)
            else:
                await self._handle_ack(eio_sid, pkt.namespace, pkt.id, pkt.data)
        except PacketRefused as exc:
            await self.refuse(eio_sid, str(exc))
        except Exception as exc:
            # Whatever python-socketio could not handle is the client's doing (our handlers
            # answer errors in acks): one line, not a traceback.
            await self.refuse(eio_sid, f"unhandled packet ({type(exc).__name__})")

    def _take_event(self, eio_sid: str, data: str) -> bool:
        """An event of the default namespace, started as its websocket frame arrives
        (``LeanEngine.on_message_nowait``): what python-socketio's ``_handle_event`` does with
        ``async_handlers`` (a task per event, its ack sent when the handler returns), without
        the layers between the frame and the task. False leaves the message to the ordinary
        path, which refuses what does not parse and runs what it does not know, in order."""
        if (event := parse_event(data)) is None:
            return False
        ack_id, args = event
        sid = self.manager.sid_from_eio_sid(eio_sid, "/")
        if sid is None or not self.manager.is_connected(sid, "/"):
            return False
        handler = self.handlers.get("/", {}).get(args[0])
        if handler is None or not _is_coroutine_function(handler):
            return False
        task = asyncio.get_running_loop().create_task(
            self._run_event(eio_sid, handler, sid, args[1:], ack_id)
        )
        self._event_tasks.add(task)
        task.add_done_callback(self._event_tasks.discard)
        return True

    async def _run_event(
        self,
        eio_sid: str,
        handler: Callable[..., Awaitable[Any]],
        sid: str,
        args: list[Any],
        ack_id: int | None,
    ) -> None:
        ret = await handler(sid, *args)
        if ack_id is None:
            return
        data = [] if ret is None else list(ret) if isinstance(ret, tuple) else [ret]
        if (sock := self.eio.sockets.get(eio_sid)) is not None:
            # The ACK packet of the default namespace, as python-socketio encodes it.
            sock.send_message_nowait(f"{packet.ACK}{ack_id}{codec.dumps(data)}")

    async def refuse(self, eio_sid: str, reason: str) -> None:
        self.note_refusal(reason, client_ip(self.environ.get(eio_sid, {})))
        await self.close_transport(eio_sid)

    def note_refusal(self, reason: str, client: str | None) -> None:
        self._metrics.socket_events.labels("packet", "refused").inc()
        if self._refusal_log.take():
            log.warning(
                "closing a connection that sent a refused packet: %s",
                reason,
                extra={"client": client},
            )

    async def close_transport(self, eio_sid: str) -> None:
        """Close the Engine.IO socket and its WebSocket now. ``eio.disconnect`` waits for the
        client to read the CLOSE packet (which a client that stops reading never does); a
        hostile client does not get to."""
        sock = self.eio.sockets.get(eio_sid)
        if sock is None:
            return
        # A LeanSocket closes its websocket as it closes (dropping it if the peer is not
        # reading); a polling session's pending GET is answered at once.
        await sock.close(wait=False, reason=self.reason.SERVER_DISCONNECT)
        self.eio.sockets.pop(eio_sid, None)
        if not sock.upgraded:
            sock.queue.put_nowait(None)


def create_sio(settings: Settings, metrics: Metrics) -> GuardedServer:
    manager: socketio.AsyncManager
    if settings.redis_url is None:
        manager = socketio.AsyncManager()
    else:
        manager = RedisPubSubManager(channel=keys.socketio_channel())
    # None = same origin only (engine.io compares Origin with Host); a list = those origins.
    cors: list[str] | None = settings.cors_origins or None
    return GuardedServer(
        metrics=metrics,
        async_mode="asgi",
        client_manager=manager,
        serializer=codec.Packet,
        json=codec,
        cors_allowed_origins=cors,
        max_http_buffer_size=MAX_PACKET_BYTES,
        ping_interval=settings.socket_ping_interval_seconds,
        ping_timeout=settings.socket_ping_timeout_seconds,
        # Logger objects, not booleans: given a boolean, python-(engine|socket)io attach a
        # plain-text handler of their own beside our JSON one (app/observability/logging.py).
        logger=logging.getLogger("socketio.server"),
        engineio_logger=logging.getLogger("engineio.server"),
    )
