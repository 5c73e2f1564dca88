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
SIMILARITY = 0.75
FIRST_WORDS = 3


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def names_companion(text: str, name: str) -> bool:
    """Whether ``text`` starts by addressing ``name`` ("@Name", or the name within the first
    few words, after a greeting)."""
    folded, target = _fold(text).strip(), _fold(name).strip()
    if not target:
        return False
    if folded.startswith("@"):
        return folded[1:].startswith(target)
    words = [w for w in _WORD.findall(folded) if w not in _GREETINGS][:FIRST_WORDS]
    target_words = _WORD.findall(target)
    span = len(target_words)
    for i in range(len(words) - span + 1):
        candidate = " ".join(words[i : i + span])
        if difflib.SequenceMatcher(None, candidate, " ".join(target_words)).ratio() >= SIMILARITY:
            return True
    return False


def for_tutor(*, humans: int, asked: bool, text: str, companion_name: str) -> bool:
    return humans <= 1 or asked or names_companion(text, companion_name)
