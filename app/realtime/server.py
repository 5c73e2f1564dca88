"""Building the Socket.IO server: in-memory fan-out for one process, Redis for many."""

from __future__ import annotations

import socketio

from app.config import Settings
from app.realtime import codec
from app.realtime.manager import RedisPubSubManager
from app.realtime.schemas import MAX_SDP_BYTES
from app.store import keys

# The largest legitimate event is an offer (64 KiB of SDP) plus its envelope; anything bigger is
# refused by the transport before it is even parsed.
MAX_PACKET_BYTES = MAX_SDP_BYTES + 16 * 1024


def create_sio(settings: Settings) -> socketio.AsyncServer:
    manager: socketio.AsyncManager
    if settings.redis_url is None:
        manager = socketio.AsyncManager()
    else:
        manager = RedisPubSubManager(channel=keys.socketio_channel())
    # None = same origin only (engine.io compares Origin with Host); a list = those origins.
    cors: list[str] | None = settings.cors_origins or None
    return socketio.AsyncServer(
        async_mode="asgi",
        client_manager=manager,
        json=codec,
        cors_allowed_origins=cors,
        max_http_buffer_size=MAX_PACKET_BYTES,
        ping_interval=20,
        ping_timeout=20,
        logger=False,
        engineio_logger=False,
    )
