"""The JSON module python-socketio and python-engineio encode and decode packets with: orjson,
behind the ``dumps``/``loads`` of the standard library that they call.

Every event and every ack is encoded once per send and every client packet decoded once; orjson
does both several times faster than ``json``. Its encode errors subclass the standard one (a
``TypeError``), and what it cannot decode is handed to ``json``, so a packet is accepted or
refused exactly as before. Output is compact like the libraries' ``separators=(",", ":")``,
and UTF-8 rather than ``\\u`` escapes: the same JSON to any parser.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(obj: Any, **_: Any) -> str:
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()


def loads(s: str | bytes, **_: Any) -> Any:
    try:
        return orjson.loads(s)
    except orjson.JSONDecodeError:
        # What the standard library accepts beyond JSON (NaN, Infinity), as before: the event's
        # validation then refuses it with a clear error instead of the packet going unanswered.
        return json.loads(s)
