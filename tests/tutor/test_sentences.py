"""Sentence splitting of streamed text."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from app.tutor.sentences import SentenceSplitter


def split_streamed(text: str, pieces: list[str] | None = None) -> list[str]:
    splitter = SentenceSplitter()
    out: list[str] = []
    for piece in pieces if pieces is not None else re.findall(r"\S+\s*", text):
        out += splitter.feed(piece)
    if rest := splitter.flush():
        out.append(rest)
    return out


def test_splits_at_sentence_ends_as_tokens_arrive() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("Great ") == []
    assert splitter.feed("question! ") == ["Great question!"]
    assert splitter.feed("What do you ") == []
    assert splitter.feed("know?") == []  # no space yet: "know?" could go on ("know?!")
    assert splitter.feed(" Try") == ["What do you know?"]
    assert splitter.flush() == "Try"
    assert splitter.flush() is None


def test_abbreviations_initials_decimals_and_list_numbers_do_not_end_a_sentence() -> None:
    text = (
        "Use e.g. a ruler, as Dr. Smith and J. Doe did. Pi is 3.14 roughly. "
        "The answer is 5. Next:\n1. Add both sides.\n2. Divide."
    )
    assert split_streamed(text) == [
        "Use e.g. a ruler, as Dr. Smith and J. Doe did.",
        "Pi is 3.14 roughly.",
        "The answer is 5.",
        "Next:",
        "1. Add both sides.",
        "2. Divide.",
    ]


def test_closing_quotes_and_ellipses_stay_with_their_sentence() -> None:
    assert split_streamed('She said "wow!" Then… silence... "Really?" Yes') == [
        'She said "wow!"',
        "Then…",
        "silence...",
        '"Really?"',
        "Yes",
    ]


def test_a_long_run_without_an_end_is_cut_at_a_clause_or_word() -> None:
    clause = "x" * 50 + ", "
    out = SentenceSplitter(max_chars=120).feed(clause * 4)
    assert out and all(len(s) <= 120 for s in out) and out[0].endswith(",")
    words = SentenceSplitter(max_chars=40).feed("word " * 20)
    assert words and all(len(s) <= 40 and s.endswith("word") for s in words)


@given(st.text(alphabet="ab .!?\n,", max_size=200), st.integers(1, 7))
def test_no_text_is_lost_or_reordered(text: str, size: int) -> None:
    pieces = [text[i : i + size] for i in range(0, len(text), size)]
    sentences = split_streamed(text, pieces)
    assert all(s == s.strip() and s for s in sentences)
    assert "".join("".join(s.split()) for s in sentences) == "".join(text.split())
