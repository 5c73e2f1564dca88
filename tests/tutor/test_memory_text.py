"""The pure parts of the tutor's memory: reading the model's summary, the memory block's token
budget, the greeting, and the weekly streak (in process)."""

from __future__ import annotations

from datetime import date

from app.api.me import weekly_streak
from app.catalogue import Catalogue
from app.models import Profile, SessionSummary
from app.tutor.memory import Remembered, greeting, memory_text
from app.tutor.summaries import MAX_TOPICS, parse_summary

_ADA = Catalogue.load().get("ada-math")
assert _ADA is not None
ADA = _ADA
assert ADA is not None


def summary(topic: str) -> SessionSummary:
    return SessionSummary(
        status="ready",
        source="llm",
        label="x",
        topics=[topic],
        went_well="steady work",
        practise_next="more of the same",
        written_at=0,
    )


def test_the_models_three_lines_are_read_and_cut_to_size() -> None:
    text = "Sure!\nTOPICS: a; b;; c; d; e; f; g\nWent well: " + "x" * 500 + "\nPractice next: y"
    parsed = parse_summary(text)
    assert parsed is not None
    topics, went_well, practise_next = parsed
    assert topics == ["a", "b", "c", "d", "e"] and len(topics) == MAX_TOPICS
    assert len(went_well) == 240 and went_well.endswith("…")
    assert practise_next == "y"
    assert parse_summary("Here is a summary of the session.") is None


def test_memory_keeps_the_profile_and_the_newest_summaries_that_fit() -> None:
    profile = Profile(
        user_id="u", display_name="Ann", goals="Pass algebra", levels={"mathematics": "secondary"}
    )
    remembered = [Remembered(1_764_600_000 - i * 86_400, summary(f"topic {i}")) for i in range(10)]
    small = memory_text(profile, ADA, remembered, budget_tokens=120)
    assert "Pass algebra" in small and "Their level in mathematics: secondary" in small
    assert "topic 0" in small and "topic 9" not in small
    assert memory_text(profile, ADA, remembered, budget_tokens=5000).count("Session of") == 10
    assert memory_text(profile, ADA, remembered, budget_tokens=0) == ""


def test_the_greeting_picks_up_the_last_session() -> None:
    text = greeting(
        Profile(user_id="u", display_name="Ann"), ADA, Remembered(0, summary("fractions"))
    )
    assert text.startswith("Welcome back, Ann! Last time we worked on fractions.")
    assert "more of the same" in text


def test_weekly_streak_counts_back_from_this_or_last_week() -> None:
    weeks = {"2026-W47", "2026-W48", "2026-W49", "2026-W45"}
    assert weekly_streak(weeks, date(2026, 12, 1)) == 3  # Tuesday of W49
    assert weekly_streak(weeks, date(2026, 12, 8)) == 3  # W50 has none yet: still alive
    assert weekly_streak(weeks, date(2026, 12, 15)) == 0  # a whole week missed
    # Across a year boundary (2026-W53 exists: 2026 starts on a Thursday).
    assert weekly_streak({"2026-W53", "2027-W01"}, date(2027, 1, 6)) == 2
