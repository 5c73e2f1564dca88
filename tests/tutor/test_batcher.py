"""Batching tokens into ai-delta events (a fake clock: no sleeping)."""

from __future__ import annotations

from app.tutor.batcher import DeltaBatcher


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_tokens_wait_for_the_interval() -> None:
    clock = Clock()
    batcher = DeltaBatcher(0.05, clock=clock)
    assert batcher.deadline() is None
    assert batcher.add("Let's ") is None
    assert batcher.deadline() == 100.05
    clock.now += 0.02
    assert batcher.add("think ") is None
    clock.now += 0.04
    assert batcher.add("about ") == "Let's think about "
    assert batcher.deadline() is None


def test_a_sentence_end_goes_out_at_once() -> None:
    batcher = DeltaBatcher(0.05, clock=Clock())
    assert batcher.add("Great ") is None
    assert batcher.add("question! ") == "Great question! "
    assert batcher.add("Why?") == "Why?"
    assert batcher.add("Line\n") == "Line\n"


def test_take_empties_what_is_pending() -> None:
    batcher = DeltaBatcher(0.05, clock=Clock())
    assert batcher.take() == ""
    batcher.add("half ")
    batcher.add("a ")
    assert batcher.take() == "half a "
    assert batcher.take() == "" and batcher.deadline() is None
    assert batcher.add("") is None and batcher.deadline() is None
