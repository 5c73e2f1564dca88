"""What a stub does to its next requests: fail with a status, or break mid-stream.

Tests plan failures from their own thread; the stub's server thread consumes them, one per
request, in order. A request with no plan left is served normally.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class FailWithStatus:
    status: int
    retry_after: str | None = None
    message: str = "stub failure"


@dataclass(frozen=True)
class FailMidStream:
    # After this many tokens (LLM) or audio chunks (TTS) have been sent.
    after: int
    # error_event: an OpenAI-style {"error": ...} data event (LLM only); disconnect: the
    # connection is cut; stall: nothing more is sent until the client gives up.
    mode: Literal["error_event", "disconnect", "stall"] = "disconnect"
    code: int | str = 502
    message: str = "upstream provider failed"


Plan = FailWithStatus | FailMidStream


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: dict[str, object]


@dataclass
class Planner:
    _plans: deque[Plan] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, plan: Plan, times: int = 1) -> None:
        with self._lock:
            self._plans.extend([plan] * times)

    def take(self) -> Plan | None:
        with self._lock:
            return self._plans.popleft() if self._plans else None

    def clear(self) -> None:
        with self._lock:
            self._plans.clear()
