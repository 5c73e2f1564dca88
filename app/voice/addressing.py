"""Whom a learner is talking to. Alone with the tutor, everything is for the tutor; with a second
human, only what is addressed to it: the Ask toggle (typed) or push-to-talk (spoken), or the
companion's name at the start ("@Ada ...", "Ada, ...", "hey Ada ...").

Names are matched loosely: a recognizer rarely spells a name right (pocketsphinx hears "Ada" as
"either" or "a the"), so the first words are compared with the name by similarity.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

_WORD = re.compile(r"[a-z0-9']+")
_GREETINGS = {"hey", "hi", "hello", "ok", "okay", "so", "um", "uh", "oh"}
# One letter wrong in a three-letter name ("Ava" for "Ada") is still the name.
SIMILARITY = 0.66


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def names_companion(text: str, name: str) -> bool:
    """Whether ``text`` starts by addressing ``name``: "@Name", or the name as the first word
    (after a greeting or a filler: "hey Ada", "ok so Ada")."""
    folded, target = _fold(text).strip(), _fold(name).strip()
    if not target:
        return False
    if folded.startswith("@"):
        return folded[1:].startswith(target)
    words = _WORD.findall(folded)
    while words and words[0] in _GREETINGS:
        words.pop(0)
    target_words = _WORD.findall(target)
    candidate = " ".join(words[: len(target_words)])
    similarity = difflib.SequenceMatcher(None, candidate, " ".join(target_words)).ratio()
    return bool(candidate) and similarity >= SIMILARITY


def for_tutor(*, humans: int, asked: bool, text: str, companion_name: str) -> bool:
    return humans <= 1 or asked or names_companion(text, companion_name)
