"""The replica's process: fewer young-generation garbage collections, and a Date header renewed
when read rather than on a timer."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import formatdate, parsedate_to_datetime

import httpx
import pytest

from app.cli import GC_FIRST_GENERATION_THRESHOLD, DatedServerState, tune_garbage_collector
from tests.servers import Replica


@pytest.fixture
def gc_thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)


def test_the_first_generation_is_collected_less_often(
    gc_thresholds: tuple[int, int, int],
) -> None:
    tune_garbage_collector()
    first, second, third = gc.get_threshold()
    assert first == GC_FIRST_GENERATION_THRESHOLD > gc_thresholds[0]
    assert (second, third) == gc_thresholds[1:]


def test_the_date_header_is_renewed_when_read(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1_800_000_000.2]
    monkeypatch.setattr("app.cli.time.time", lambda: now[0])
    state = DatedServerState()
    assert state.default_headers == []  # uvicorn's own start value, before its first tick
    state.default_headers = [(b"date", b"the start's"), (b"server", b"holo")]
    first = state.default_headers
    assert first == [(b"date", formatdate(now[0], usegmt=True).encode()), (b"server", b"holo")]
    now[0] += 0.5  # the same second: the same headers
    assert state.default_headers is first
    now[0] += 1
    assert state.default_headers == [
        (b"date", formatdate(now[0], usegmt=True).encode()),
        (b"server", b"holo"),
    ]


def test_headers_without_a_date_are_left_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    state = DatedServerState()  # uvicorn configured with date_header=False
    state.default_headers = [(b"server", b"holo")]
    assert state.default_headers == [(b"server", b"holo")]


def test_a_replica_answers_with_the_current_date(embedded: Replica) -> None:
    response = httpx.get(f"{embedded.url}/healthz")
    sent = parsedate_to_datetime(response.headers["date"])
    # Catches a missing header, or one fixed at start-up once the session's replica is older
    # than a minute (the renewal itself is the test above).
    assert abs((datetime.now(UTC) - sent).total_seconds()) < 60
