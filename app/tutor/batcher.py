"""Batching streamed tokens into ``ai-delta`` events: one every ~50 ms or at a sentence end.

Every replica decodes every event on the shared Socket.IO channel, so one event per token would
multiply the fan-out cost by the token rate for no visible gain. The batcher is pure (a clock is
injected): the pipeline asks for ``deadline()`` and takes the batch when it passes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

_SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*\s*$|\n\s*$")


class DeltaBatcher:
    def __init__(self, interval: float = 0.05, *, clock: Callable[[], float] = time.monotonic):
        self._interval = interval
        self._clock = clock
        self._parts: list[str] = []
        self._since: float | None = None

    def add(self, text: str) -> str | None:
        """Add a token; returns a batch to send now (interval over, or a sentence ended)."""
        if not text:
            return None
        if self._since is None:
            self._since = self._clock()
        self._parts.append(text)
        if _SENTENCE_END.search(text) or self._clock() - self._since >= self._interval:
            return self.take()
        return None

    def deadline(self) -> float | None:
        """When the pending text must go out (clock time), or None with nothing pending."""
        return None if self._since is None else self._since + self._interval

    def take(self) -> str:
        """Everything pending (possibly empty), which is then no longer pending."""
        text = "".join(self._parts)
        self._parts.clear()
        self._since = None
        return text
