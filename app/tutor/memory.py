"""What the tutor remembers of a learner when a new session opens with a companion.

The memory is fixed when the room opens: the learner's profile and, with memory on, the newest
usable summaries of their sessions with that companion, cut to a token budget. It goes into the
system prompt of every reply in the room, and the tutor greets a returning learner with where
they left off. With memory off nothing from earlier sessions is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from app.catalogue import Companion
from app.models import Identity, Message, Profile, Room, Sender, SessionSummary
from app.observability.metrics import Metrics
from app.providers.llm.base import estimate_tokens
from app.store.messages import MessageStore
from app.store.profiles import ProfileStore
from app.store.summaries import SummaryStore

MEMORY_HEADER = (
    "What you know about this learner (from their profile and your earlier sessions; use it to "
    "pick up where you left off, and do not read it out):"
)


@dataclass(frozen=True)
class Remembered:
    ended_at: float
    summary: SessionSummary


def _profile_lines(profile: Profile, companion: Companion) -> list[str]:
    lines = [f"- Name: {profile.display_name}."]
    if profile.preferred_language:
        lines.append(f"- Preferred language: {profile.preferred_language}.")
    if level := profile.levels.get(companion.subject):
        lines.append(f"- Their level in {companion.subject}: {level}.")
    if profile.goals:
        lines.append(f"- Their goals: {profile.goals}")
    return lines


def _summary_line(item: Remembered) -> str:
    s = item.summary
    day = datetime.fromtimestamp(item.ended_at, UTC).strftime("%Y-%m-%d")
    parts = [f"- Session of {day}: worked on {'; '.join(s.topics) or 'general practice'}."]
    if s.went_well:
        parts.append(f"Went well: {s.went_well}")
    if s.practise_next:
        parts.append(f"To practise next: {s.practise_next}")
    return " ".join(parts)


def memory_text(
    profile: Profile,
    companion: Companion,
    remembered: Sequence[Remembered],
    *,
    budget_tokens: int,
) -> str:
    """The memory block for the system prompt, newest summaries first, within the budget (the
    profile first: it is what the learner asked us to know). Empty when nothing fits."""
    lines = [MEMORY_HEADER]
    used = estimate_tokens(MEMORY_HEADER)
    for line in [*_profile_lines(profile, companion), *map(_summary_line, remembered)]:
        cost = estimate_tokens(line) + 1
        if used + cost > budget_tokens:
            break
        lines.append(line)
        used += cost
    return "\n".join(lines) if len(lines) > 1 else ""


def greeting(profile: Profile, companion: Companion, last: Remembered) -> str:
    """The companion's first words to a returning learner: where they left off."""
    s = last.summary
    first = f"Welcome back, {profile.display_name}!"
    if s.topics:
        first += f" Last time we worked on {_join(s.topics[:3])}."
    if s.practise_next:
        first += f" You were going to practise this next: {s.practise_next.rstrip('.')}."
    return f"{first} Shall we pick up there, or is there something new in {companion.subject}?"


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


class Memory:
    """Opens a room with what the tutor remembers of its owner (see the module docstring)."""

    def __init__(
        self,
        *,
        profiles: ProfileStore,
        summaries: SummaryStore,
        messages: MessageStore,
        metrics: Metrics,
        sessions: int,
        budget_tokens: int,
    ) -> None:
        self._profiles = profiles
        self._summaries = summaries
        self._messages = messages
        self._metrics = metrics
        self._sessions = sessions
        self._budget = budget_tokens

    async def open_room(self, room: Room, who: Identity, companion: Companion) -> Message | None:
        """Fix the room's memory; returns the greeting stored for a returning learner."""
        if await self._summaries.has_met(who.user_id, companion.id):
            self._metrics.returning_learners.inc()
        profile = await self._profiles.get(who)
        remembered: list[Remembered] = []
        if profile.memory:
            remembered = [
                Remembered(ended_at, summary)
                for ended_at, summary in await self._summaries.recent_for(
                    who.user_id, companion.id, limit=self._sessions
                )
            ]
        text = memory_text(profile, companion, remembered, budget_tokens=self._budget)
        if text:
            await self._summaries.set_room_memory(room.room_id, text)
        if not remembered:
            return None
        message, _ = await self._messages.append(
            room.room_id,
            Sender(kind="ai", display_name=companion.name),
            greeting(profile, companion, remembered[0]),
            metadata={"greeting": True},
        )
        return message
