"""The offline tutor: used when no LLM key is configured, so the product works with nothing set.

It is not a model and never pretends to be one: every event carries ``offline=True`` and the reply
says so in its first sentence. It still tutors the way the policy asks (acknowledge, give a hint,
ask a guiding question, never hand out the answer), and the same persona and learner message
always give the same reply, so tests and demos are reproducible.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import AsyncGenerator, Sequence

from app.providers.llm.base import (
    ChatMessage,
    LLMEvent,
    Persona,
    TextDelta,
    UsageReport,
    estimate_tokens,
)

_HINTS = (
    "A good first move is to write down what you already know and what you are asked to find.",
    "Try breaking it into smaller steps and solving just the first one.",
    "Look for a simpler example of the same idea and see what happens there.",
    "Check which words or symbols in the question carry the key information.",
    "Think about a rule or definition from {subject} that connects to this.",
)
_QUESTIONS = (
    "What do you think the very first step should be?",
    "Can you explain in your own words what the question is asking?",
    "Which part feels least clear to you right now?",
    "What would you try first, and why?",
    "If you had to guess, what would the answer look like?",
)
_OPENERS_FOR_QUESTION = (
    "Good question about {topic}.",
    "Let's work through {topic} together.",
    "I like that you asked about {topic}.",
)
_OPENERS_FOR_STATEMENT = (
    "Thanks for sharing that about {topic}.",
    "Let's build on what you said about {topic}.",
    "Okay, let's look at {topic} more closely.",
)
_WORD = re.compile(r"\S+\s*")


def _topic(message: str, limit: int = 12) -> str:
    words = re.findall(r"[\w'+\-*/=^().,]+", message)
    if not words:
        return "this"
    phrase = " ".join(words[:limit]).strip(" .,")
    return f"\u201c{phrase}{'…' if len(words) > limit else ''}\u201d"


def compose_reply(persona: Persona | None, message: str) -> str:
    """The whole offline reply for one learner message (pure: same input, same text)."""
    name = persona.name if persona else "your tutor"
    subject = persona.subject if persona else "this subject"
    text = message.strip()
    seed = hashlib.sha256(f"{name}\x00{subject}\x00{text}".encode()).digest()

    def pick(options: Sequence[str], salt: int) -> str:
        return options[seed[salt] % len(options)]

    notice = (
        f"(I'm {name} in offline practice mode: no AI model is connected right now, "
        "so I can only coach you with general steps.)"
    )
    if not text:
        return (
            f"{notice} Hi, I'm {name}, and we can work on {subject} together. "
            "What would you like to practise today?"
        )
    openers = _OPENERS_FOR_QUESTION if text.endswith("?") else _OPENERS_FOR_STATEMENT
    opener = pick(openers, 0).format(topic=_topic(text))
    hint = pick(_HINTS, 1).format(subject=subject)
    question = pick(_QUESTIONS, 2)
    return f"{notice} {opener} {hint} {question}"


class OfflineTutorLLM:
    provider = "offline"
    model = "offline-tutor"
    offline = True

    def __init__(self, *, words_per_chunk: int = 3, chunk_delay: float = 0.02) -> None:
        # A short pause between chunks lets the UI show the reply streaming, as with a model.
        self._words_per_chunk = words_per_chunk
        self._chunk_delay = chunk_delay

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        persona: Persona | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> AsyncGenerator[LLMEvent, None]:
        started = time.monotonic()
        learner = next((m.content for m in reversed(messages) if m.role == "user"), "")
        reply = compose_reply(persona, learner)
        words = _WORD.findall(reply)
        ttft: float | None = None
        for i in range(0, len(words), self._words_per_chunk):
            if i and self._chunk_delay:
                await asyncio.sleep(self._chunk_delay)
            if ttft is None:
                ttft = time.monotonic() - started
            yield TextDelta(text="".join(words[i : i + self._words_per_chunk]), offline=True)
        yield UsageReport(
            provider=self.provider,
            model=self.model,
            prompt_tokens=sum(estimate_tokens(m.content) for m in messages),
            completion_tokens=estimate_tokens(reply),
            estimated=True,
            offline=True,
            finish_reason="stop",
            ttft_seconds=ttft,
            duration_seconds=time.monotonic() - started,
        )
