"""Budget arithmetic and the usage periods (the Redis side is in test_budgets.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from app.tutor.usage import Budget, MonthlyUsage, VoiceAllowance, periods


def test_periods_are_utc_month_and_day() -> None:
    late = datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC).timestamp()
    assert periods(late) == ("month:2026-11", "day:2026-11-30")
    assert periods(late + 1) == ("month:2026-12", "day:2026-12-01")


def test_llm_budget() -> None:
    budget = Budget(llm_tokens=1000, tts_characters=0)
    assert not budget.llm_exhausted(MonthlyUsage(llm_tokens=999, tts_billed=0))
    assert budget.llm_exhausted(MonthlyUsage(llm_tokens=1000, tts_billed=0))
    assert not Budget(llm_tokens=0, tts_characters=0).llm_exhausted(MonthlyUsage(10**9, 0))


def test_voice_allowance_stops_at_the_threshold() -> None:
    budget = Budget(llm_tokens=0, tts_characters=1000, tts_threshold=0.9)
    allowance = budget.voice_allowance(MonthlyUsage(llm_tokens=0, tts_billed=850), billed=True)
    assert not allowance.exhausted
    assert allowance.take(30) and allowance.take(20)  # 900: exactly the cutoff
    assert allowance.exhausted and not allowance.take(1)
    over = budget.voice_allowance(MonthlyUsage(llm_tokens=0, tts_billed=880), billed=True)
    assert not over.take(25) and over.exhausted  # a sentence that does not fit ends voice


def test_unbilled_engines_and_no_budget_are_unlimited() -> None:
    spent = MonthlyUsage(llm_tokens=0, tts_billed=10**9)
    assert Budget(0, 1000).voice_allowance(spent, billed=False).take(10**6)
    assert Budget(0, 0).voice_allowance(spent, billed=True).take(10**6)
    assert VoiceAllowance(None).take(10**9)
