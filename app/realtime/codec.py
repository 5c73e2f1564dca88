"""The JSON module python-socketio and python-engineio encode and decode packets with: orjson,
behind the ``dumps``/``loads`` of the standard library that they call; and the Socket.IO packet
class that uses it.

Every event and every ack is encoded once per send and every client packet decoded once; orjson
does both several times faster than ``json``. Its encode errors subclass the standard one (a
``TypeError``), and what it cannot decode is handed to ``json``, so a packet is accepted or
refused exactly as before. Output is compact like the libraries' ``separators=(",", ":")``,
and UTF-8 rather than ``\\u`` escapes: the same JSON to any parser.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import orjson
from socketio import packet


def dumps(obj: Any, **_: Any) -> str:
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()


def loads(s: str | bytes, **_: Any) -> Any:
    try:
        return orjson.loads(s)
    except orjson.JSONDecodeError:
        # What the standard library accepts beyond JSON (NaN, Infinity), as before: the event's
        # validation then refuses it with a clear error instead of the packet going unanswered.
        return json.loads(s)


class Packet(packet.Packet):  # type: ignore[misc]
    """python-socketio's packet, JSON only: the app has no binary events (the server refuses
    them, app/realtime/server.py), so a packet built to send skips the library's search of its
    data for bytes: a recursive walk that cost more than encoding the JSON itself (an ack with
    a chat message in it: ~8 µs of ~10)."""

    uses_binary_events = False
    json = sys.modules[__name__]
