"""The replica's process settings: fewer young-generation garbage collections."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from app.cli import GC_FIRST_GENERATION_THRESHOLD, tune_garbage_collector


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
