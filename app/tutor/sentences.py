"""Splitting streamed text into sentences, so each can go to speech as soon as it is finished.

A sentence ends at ``.``, ``!``, ``?`` or ``…`` (with any closing quotes or brackets) followed by
whitespace, or at a line break. A full stop after an abbreviation, an initial or a list number
does not end one. A run with no end that grows past ``max_chars`` is cut at a clause or word
boundary, so a long unpunctuated stretch still reaches the voice in time.
"""

from __future__ import annotations

import re

_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*\s+|\n+")
_LAST_WORD = re.compile(r"(\S+)$")
_CLAUSE = re.compile(r"[,;:\u2014]\s+")
ABBREVIATIONS = frozenset(
    {"e.g", "i.e", "etc", "vs", "mr", "mrs", "ms", "dr", "prof", "st", "no", "fig", "approx", "cf"}
)


def _is_false_end(text: str, match: re.Match[str]) -> bool:
    """A lone full stop after an abbreviation, an initial ("J.") or a list number ("1.")."""
    if match.group().lstrip()[:1] != "." or match.group().startswith(".."):
        return False
    word = _LAST_WORD.search(text, 0, match.start())
    if word is None:
        return True
    last = word.group(1).lower().lstrip("(\"'\u201c")
    if last.isdigit():  # "1. " opening a numbered line, not "x equals 5. "
        return word.start() == 0 or text[word.start() - 1] == "\n"
    return last in ABBREVIATIONS or (len(last) == 1 and last.isalpha())


class SentenceSplitter:
    def __init__(self, *, max_chars: int = 240) -> None:
        self._buffer = ""
        self._max_chars = max_chars

    def feed(self, text: str) -> list[str]:
        """Add streamed text; returns the sentences it finished (stripped, non-empty)."""
        self._buffer += text
        done: list[str] = []
        while (cut := self._boundary()) is not None:
            sentence, self._buffer = self._buffer[:cut].strip(), self._buffer[cut:]
            if sentence:
                done.append(sentence)
        return done

    def flush(self) -> str | None:
        """The unfinished rest at the end of the stream, if any."""
        rest, self._buffer = self._buffer.strip(), ""
        return rest or None

    def _boundary(self) -> int | None:
        for match in _END.finditer(self._buffer):
            if not _is_false_end(self._buffer, match):
                return match.end()
        if len(self._buffer) <= self._max_chars:
            return None
        head = self._buffer[: self._max_chars]
        clauses = list(_CLAUSE.finditer(head))
        if clauses:
            return clauses[-1].end()
        space = head.rfind(" ")
        return space + 1 if space > 0 else self._max_chars
