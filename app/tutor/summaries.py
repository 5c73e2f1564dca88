"""Session summaries: written after a room ends, by a job any replica can take, once.

Ending a room only queues a job (an entry in one Redis stream read through one consumer group),
so ``DELETE /api/rooms/{id}`` never waits for a model. The replica that reads the entry claims
the session (a key with a TTL, so the model is asked once even if the entry is delivered twice)
and writes the summary with ``SummaryStore.write_once``. A replica that dies leaves its entry
pending; after ``SUMMARY_CLAIM_TTL`` another replica takes it over (``XAUTOCLAIM``).

With a model, the summary keeps only learning content, in a strict three-line shape cut to fixed
lengths. The offline tutor has no model: the summary is built from the learner's own messages and
labelled so. Summaries count against the LLM budget like replies; with the budget used up there
is no summary, and the record says so.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Sequence
from contextlib import aclosing
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from redis.exceptions import ResponseError

from app.models import Message, SessionSummary
from app.providers.errors import ProviderError
from app.providers.llm import ChatMessage, TextDelta, UsageReport
from app.providers.llm.base import estimate_tokens
from app.store import keys
from app.store.consumers import StaleConsumers
from app.store.redis import Redis, raise_if_cancelled
from app.store.sessions import SessionStore
from app.store.summaries import SummaryStore
from app.tutor.loops import forever
from app.tutor.reply import ReplyDeps

log = logging.getLogger(__name__)

MAX_TOPICS = 5
MAX_TOPIC_CHARS = 60
MAX_SENTENCE_CHARS = 240

SUMMARY_PROMPT = """You write session summaries for a tutoring app. The learner and their tutor \
read them, and the tutor uses them to continue next time.
Keep only learning content: what was worked on, what went well, what to practise next. Leave out \
names, personal details, small talk and anything that is not about learning.
Answer with exactly these three lines and nothing else:
Topics: <at most five short topics, separated by semicolons>
Went well: <one short sentence>
Practise next: <one short sentence>"""

LABELS = {
    "llm": "Summary written by the AI tutor from this session's conversation.",
    "learner_messages": "Offline tutor: no AI model wrote this; it is built from your own "
    "messages in this session.",
    "llm_budget": "No summary: this month's AI budget is used up.",
    "no_learner_messages": "No summary: nothing was said in this session.",
    "llm_error": "No summary: the AI service could not write one.",
    "unreadable": "No summary: the AI service's answer could not be read.",
}
_FIELD = re.compile(r"^\s*(topics|went well|practi[sc]e next)\s*:\s*(.*)$", re.IGNORECASE)
_WORDS = re.compile(r"[\w'+\-*/=^().,?]+")


class SummaryJob(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    entry_id: str
    session_id: str


def iso_week(when: float) -> str:
    year, week, _ = datetime.fromtimestamp(when, UTC).isocalendar()
    return f"{year}-W{week:02d}"


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def parse_summary(text: str) -> tuple[list[str], str, str] | None:
    """Topics, what went well, what to practise next, from the model's three lines (cut to the
    fixed lengths); None when the answer is not in that shape."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        if m := _FIELD.match(line):
            found.setdefault(m.group(1).lower().replace("practice", "practise"), m.group(2))
    if "topics" not in found:
        return None
    topics = [_cut(t, MAX_TOPIC_CHARS) for t in re.split(r"[;\n]", found["topics"]) if t.strip()]
    return (
        topics[:MAX_TOPICS],
        _cut(found.get("went well", ""), MAX_SENTENCE_CHARS),
        _cut(found.get("practise next", ""), MAX_SENTENCE_CHARS),
    )


def _phrase(text: str, words: int = 6) -> str:
    found = _WORDS.findall(text)
    phrase = " ".join(found[:words]).strip(" .,")
    return _cut(phrase + ("…" if len(found) > words else ""), MAX_TOPIC_CHARS)


def offline_summary(learner: Sequence[Message], *, now: float) -> SessionSummary:
    """The offline tutor's summary: only what the learner wrote, said to be so."""
    if not learner:
        return skipped("no_learner_messages", now=now)
    topics: list[str] = []
    for message in learner:
        phrase = _phrase(message.text)
        if phrase and phrase not in topics:
            topics.append(phrase)
    questions = sum(1 for m in learner if m.text.rstrip().endswith("?"))
    count = len(learner)
    return SessionSummary(
        status="ready",
        source="learner_messages",
        label=LABELS["learner_messages"],
        topics=topics[:MAX_TOPICS],
        went_well=f"You wrote {count} message{'s' if count != 1 else ''} "
        f"and asked {questions} question{'s' if questions != 1 else ''}.",
        practise_next=_cut(f"Continue from your last message: {learner[-1].text}", 240),
        written_at=now,
    )


def skipped(reason: str, *, now: float, status: str = "skipped") -> SessionSummary:
    return SessionSummary.model_validate(
        {"status": status, "reason": reason, "label": LABELS[reason], "written_at": now}
    )


def transcript_prompt(transcript: Sequence[Message], budget_tokens: int) -> list[ChatMessage]:
    """The summary request: the instructions, then the conversation (the newest part that fits
    the budget), with roles and no names."""
    lines: list[str] = []
    remaining = budget_tokens
    for message in reversed(transcript):
        who = "Tutor" if message.sender.kind == "ai" else "Learner"
        line = f"{who}: {message.text}"
        remaining -= estimate_tokens(line) + 1
        if remaining < 0:
            break
        lines.append(line)
    lines.reverse()
    return [
        ChatMessage(role="system", content=SUMMARY_PROMPT),
        ChatMessage(role="user", content="The session:\n" + "\n".join(lines)),
    ]


class SummaryJobs:
    """The summary stream and its consumer group (see ``app.tutor.jobs`` for the reply jobs)."""

    def __init__(self, redis: Redis, *, consumer: str, block_seconds: float = 1.0) -> None:
        self._redis = redis
        self.consumer = consumer
        self._block_ms = max(1, int(block_seconds * 1000))
        self._stream = keys.summary_jobs()
        self._stale = StaleConsumers(redis, self._stream, keys.SUMMARY_GROUP, keep=consumer)

    async def enqueue(self, session_id: str) -> None:
        await self._redis.xadd(
            self._stream,
            {"session_id": session_id},
            maxlen=keys.SUMMARY_JOBS_MAXLEN,
            approximate=True,
        )

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._stream, keys.SUMMARY_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read(self) -> list[SummaryJob]:
        """The next new job, waiting for one up to the blocking read's time."""
        try:
            answer: Any = await self._redis.xreadgroup(
                keys.SUMMARY_GROUP,
                self.consumer,
                {self._stream: ">"},
                count=1,
                block=self._block_ms,
            )
            raise_if_cancelled()
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.ensure_group()
            return []
        return await self._parse([e for _stream, entries in answer or [] for e in entries])

    async def reclaim(self) -> list[SummaryJob]:
        """Jobs left pending by a replica that stopped (idle longer than the claim's TTL)."""
        answer: Any = await self._redis.xautoclaim(
            self._stream,
            keys.SUMMARY_GROUP,
            self.consumer,
            keys.SUMMARY_CLAIM_TTL * 1000,
            "0-0",
            count=10,
        )
        return await self._parse(answer[1])

    async def prune_consumers(self) -> int:
        """Remove the group's consumers of replicas gone for good, when due
        (``app.store.consumers``)."""
        return await self._stale.prune_when_due()

    async def done(self, entry_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self._stream, keys.SUMMARY_GROUP, entry_id)
            pipe.xdel(self._stream, entry_id)
            await pipe.execute()

    async def _parse(self, entries: list[Any]) -> list[SummaryJob]:
        jobs = []
        for entry_id, fields in entries:
            try:
                jobs.append(SummaryJob.model_validate({"entry_id": entry_id, **(fields or {})}))
            except ValidationError:
                log.warning("dropping malformed summary job %s", entry_id)
                await self.done(entry_id)
        return jobs


class Summarizer:
    """One replica's summary worker."""

    def __init__(
        self,
        deps: ReplyDeps,
        *,
        jobs: SummaryJobs,
        sessions: SessionStore,
        summaries: SummaryStore,
        max_tokens: int,
        context_tokens: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.deps = deps
        self.jobs = jobs
        self._sessions = sessions
        self._summaries = summaries
        self._max_tokens = max_tokens
        self._context_tokens = context_tokens
        self._clock = clock

    async def run(self) -> None:
        await asyncio.gather(
            forever(self._consume, "summary consume"), forever(self._reclaim, "summary reclaim")
        )

    async def _consume(self) -> None:
        await self.jobs.ensure_group()
        while True:
            for job in await self.jobs.read():
                await self._handle(job)

    async def _reclaim(self) -> None:
        while True:
            await asyncio.sleep(keys.SUMMARY_CLAIM_TTL / 2)
            for job in await self.jobs.reclaim():
                await self._handle(job)
            await self.jobs.prune_consumers()

    async def _handle(self, job: SummaryJob) -> None:
        if await self.summarize(job.session_id) is not None:
            await self.jobs.done(job.entry_id)

    async def summarize(self, session_id: str) -> bool | None:
        """Summarize one ended session. True: this call wrote the summary; False: it was there
        already, or the session is gone; None: another replica holds the claim (try later)."""
        record = await self._sessions.get(session_id)
        if record is None or await self._summaries.get(session_id) is not None:
            return False
        if not await self._summaries.claim(session_id, self.jobs.consumer):
            return None
        transcript = await self._sessions.transcript(session_id)
        summary = await self._compose(transcript)
        counts: dict[str, int] = {}
        for message in transcript:
            if message.sender.kind == "user" and message.sender.user_id:
                counts[message.sender.user_id] = counts.get(message.sender.user_id, 0) + 1
        written = await self._summaries.write_once(
            record, summary, messages_by_user=counts, week=iso_week(record.ended_at)
        )
        if written:
            self.deps.metrics.summaries.labels(summary.status, summary.reason or "").inc()
            log.info("session %s summarized (%s)", session_id, summary.status)
        return bool(written)

    async def _compose(self, transcript: Sequence[Message]) -> SessionSummary:
        d = self.deps
        now = self._clock()
        learner = [m for m in transcript if m.sender.kind == "user"]
        if not learner:
            return skipped("no_learner_messages", now=now)
        if d.llm.offline:
            return offline_summary(learner, now=now)
        if d.budget.llm_exhausted(await d.usage.month()):
            return skipped("llm_budget", now=now)
        prompt = transcript_prompt(transcript, self._context_tokens)
        parts: list[str] = []
        try:
            stream = d.llm.stream(prompt, max_tokens=self._max_tokens, temperature=0.2)
            async with aclosing(stream):
                async for event in stream:
                    if isinstance(event, TextDelta):
                        parts.append(event.text)
                    elif isinstance(event, UsageReport):
                        await d.usage.record_llm(event)
        except ProviderError as exc:
            d.metrics.errors.labels("summary", exc.code).inc()
            log.warning("summary failed: %s", exc)
            return skipped("llm_error", now=now, status="failed")
        parsed = parse_summary("".join(parts))
        if parsed is None:
            return skipped("unreadable", now=now, status="failed")
        topics, went_well, practise_next = parsed
        return SessionSummary(
            status="ready",
            source="llm",
            label=LABELS["llm"],
            topics=topics,
            went_well=went_well,
            practise_next=practise_next,
            written_at=now,
        )
