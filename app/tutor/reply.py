"""One reply: the model's stream to the room as ``ai-delta``, each sentence to ``ai-audio``, the
stored message as ``ai-done``.

    stream (LLM) ─► batcher ─► ai-delta              (every ~50 ms or at a sentence end)
                 └► splitter ─► speaker ─► ai-audio   (TTS at once, stored, announced in order)
    end ─► message stored (text, audio URLs) ─► ai-done

Barge-in sets ``stop_requested``: the stream and the speech in flight are cancelled, and what is
kept is exactly what the room was sent. A provider error before any text gives ``ai-error``; one
after some text keeps that text (stored, ``ai-error`` then ``ai-done``). Voice problems never
fail a reply: it goes on as text with a ``notice``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Protocol

from app.catalogue import Companion
from app.config import Settings
from app.models import Message, Sender
from app.observability.metrics import Metrics
from app.providers.errors import ProviderError
from app.providers.llm import LLM, ChatMessage, TextDelta, UsageReport
from app.providers.llm.base import estimate_tokens
from app.providers.storage import Storage
from app.providers.tts import TTS
from app.server_events import (
    AiAudio,
    AiDelta,
    AiDone,
    AiError,
    Emitter,
    Notice,
    ServerEvent,
    ServerEvents,
    TutorState,
)
from app.store.messages import ConversationClosed, MessageStore
from app.store.redis import UNAVAILABLE_ERRORS
from app.store.rooms import RoomStore
from app.store.summaries import SummaryStore
from app.tutor.batcher import DeltaBatcher
from app.tutor.prompt import build_prompt, persona_of
from app.tutor.sentences import SentenceSplitter
from app.tutor.speaker import AudioFeed, OffReason, Speaker
from app.tutor.usage import Budget, UsageStore

log = logging.getLogger(__name__)

ERROR_MESSAGES = {
    "timeout": "The tutor took too long to answer. Please ask again.",
    "rate_limited": "The tutor is very busy right now. Please ask again in a moment.",
    "upstream_error": "The tutor's AI service is unavailable right now. Please try again shortly.",
    "rejected": "The tutor's AI service refused the request; this is a problem on our side.",
    "bad_response": "The tutor's AI service sent an answer we could not read. Please ask again.",
    "stream_failed": "The tutor's answer was cut off. Ask again to continue.",
}
NOTICES: dict[OffReason, str] = {
    "voice_budget": "Voice is off for now: this month's speech budget is nearly used up. "
    "The tutor keeps answering in text.",
    "voice_unavailable": "Voice is unavailable right now; this answer continues as text.",
    "storage_unavailable": "Audio could not be saved right now; this answer continues as text.",
}
LLM_BUDGET_TEXT = (
    "I've reached this month's limit for AI tutoring, so I can't answer right now. "
    "Your message is saved; please come back when the limit resets next month."
)


def reply_client_id(message_id: str) -> str:
    """The idempotency key of the reply to a learner message: it is stored once, whoever
    (which replica, which attempt) finishes it."""
    return f"reply:{message_id}"


@dataclass(frozen=True)
class ReplyConfig:
    delta_interval: float = 0.05
    context_tokens: int = 3000
    max_tokens: int = 600
    storage_timeout: float = 10.0
    tts_concurrency: int = 3

    @classmethod
    def from_settings(cls, settings: Settings) -> ReplyConfig:
        return cls(
            delta_interval=settings.tutor_delta_interval_seconds,
            context_tokens=settings.llm_context_tokens,
            max_tokens=settings.llm_max_tokens,
            storage_timeout=settings.storage_timeout_seconds,
        )


@dataclass
class ReplyDeps:
    """What every reply of a process shares, built once in the lifespan."""

    config: ReplyConfig
    emitter: Emitter
    rooms: RoomStore
    messages: MessageStore
    usage: UsageStore
    budget: Budget
    metrics: Metrics
    llm: LLM
    tts: TTS
    storage: Storage
    # Where the room's memory is read from (None: the tutor remembers nothing).
    summaries: SummaryStore | None = None
    # The replica's voice sessions: they play a reply's clips as they are synthesized.
    voice: VoiceOut | None = None


class VoiceOut(Protocol):
    def wants(self, room_id: str) -> bool: ...

    def stream(self, room_id: str, reply_id: str, seq: int, text: str) -> AudioFeed | None: ...


@dataclass
class _Outcome:
    sent: list[str] = field(default_factory=list)
    received: list[str] = field(default_factory=list)
    offline: bool = False
    report: UsageReport | None = None
    error: ProviderError | None = None
    llm_budget: bool = False
    prompt_tokens: int = 0  # estimated, for a reply stopped before the provider's count
    speaker: Speaker | None = None


class Reply:
    def __init__(
        self,
        deps: ReplyDeps,
        *,
        room_id: str,
        message_id: str,
        companion: Companion,
        received_at: float,
    ) -> None:
        self.deps = deps
        self.room_id = room_id
        self.message_id = message_id
        self.companion = companion
        self.received_at = received_at  # when the learner's message was stored (wall clock)
        self.reply_id = uuid.uuid4().hex
        self.stop_requested = asyncio.Event()
        self._events = ServerEvents(deps.emitter)
        self._out = _Outcome(offline=deps.llm.offline)
        self._first_audio = True
        # Barge-in by voice: the text and number of clips the listener heard; the stored reply
        # keeps that much rather than all that was sent.
        self.heard: tuple[str, int | None] | None = None

    async def run(self, conversation: Sequence[Message]) -> Message | None:
        """Reply to the last message of ``conversation``; returns the stored reply, if any (None
        when stopped before anything was sent, after an error with no text, or when another
        attempt stored it first)."""
        work = asyncio.create_task(self._produce(conversation), name=f"reply-{self.reply_id}")
        stop = asyncio.create_task(self.stop_requested.wait())
        try:
            await asyncio.wait((work, stop), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            work.cancel()
            stop.cancel()
            raise
        stop.cancel()
        interrupted = not work.done()
        if interrupted:
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work
        else:
            work.result()
        shown = await self._finish(interrupted=interrupted)
        speaker = self._out.speaker
        spoken = any(
            m.id == self.message_id and (m.metadata or {}).get("spoken") for m in conversation
        )
        if spoken and not (speaker and speaker.urls):
            # A spoken question set the room "thinking"; with no voice in the reply, no track
            # starts and stops speaking to say "listening" again.
            await self._emit(TutorState(room_id=self.room_id, state="listening"))
        return shown

    # -- streaming --------------------------------------------------------------------------

    async def _produce(self, conversation: Sequence[Message]) -> None:
        deps, outcome = self.deps, self._out
        usage = await deps.usage.month()
        if deps.budget.llm_exhausted(usage):
            outcome.llm_budget = True
            return
        allowance = deps.budget.voice_allowance(usage, billed=deps.tts.billed)
        speaker = outcome.speaker = Speaker(
            tts=deps.tts,
            storage=deps.storage,
            voice=deps.tts.voice_for(self.companion.voices, self.companion.languages[0]),
            key_prefix=f"{self.room_id}/{self.reply_id}",
            allowance=allowance,
            announce=self._announce,
            record=self._record_speech,
            switched_off=self._voice_off,
            concurrency=deps.config.tts_concurrency,
            on_audio=self._voice_clip if deps.voice and deps.voice.wants(self.room_id) else None,
            storage_timeout=deps.config.storage_timeout,
        )
        memory = await deps.summaries.room_memory(self.room_id) if deps.summaries else ""
        prompt = build_prompt(
            self.companion, conversation, budget_tokens=deps.config.context_tokens, memory=memory
        )
        outcome.prompt_tokens = sum(estimate_tokens(m.content) for m in prompt)
        events: asyncio.Queue[TextDelta | UsageReport | Exception | None] = asyncio.Queue()
        reader = asyncio.create_task(self._read(prompt, events))
        batcher = DeltaBatcher(deps.config.delta_interval)
        splitter = SentenceSplitter()
        try:
            while True:
                deadline = batcher.deadline()
                try:
                    timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                    event = await asyncio.wait_for(events.get(), timeout)
                except TimeoutError:
                    await self._send(batcher.take())
                    continue
                if event is None:
                    break
                if isinstance(event, Exception):
                    raise event
                if isinstance(event, UsageReport):
                    outcome.report = event
                    await self._record_llm(event)
                    continue
                outcome.offline = outcome.offline or event.offline
                outcome.received.append(event.text)
                if batch := batcher.add(event.text):
                    await self._send(batch)
                for sentence in splitter.feed(event.text):
                    await speaker.say(sentence)
            await self._send(batcher.take())
            if tail := splitter.flush():
                await speaker.say(tail)
            await speaker.finish()
        except ProviderError as exc:
            outcome.error = exc
            deps.metrics.errors.labels("llm", exc.code).inc()
            log.warning("reply %s: %s", self.reply_id, exc)
            await self._send(batcher.take())
            await speaker.finish()
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            await speaker.cancel()

    async def _read(
        self,
        prompt: list[ChatMessage],
        events: asyncio.Queue[TextDelta | UsageReport | Exception | None],
    ) -> None:
        stream = self.deps.llm.stream(
            prompt, persona=persona_of(self.companion), max_tokens=self.deps.config.max_tokens
        )
        try:
            async with aclosing(stream):
                async for event in stream:
                    await events.put(event)
        except Exception as exc:
            await events.put(exc)
            return
        await events.put(None)

    async def _emit(self, payload: ServerEvent) -> None:
        await self._events.send(payload, room=self.room_id)

    async def _send(self, text: str) -> None:
        if text:
            self._out.sent.append(text)
            await self._emit(AiDelta(reply_id=self.reply_id, reply_to=self.message_id, text=text))

    async def _announce(self, seq: int, url: str, sentence: str) -> None:
        if self._first_audio:
            self._first_audio = False
            self.deps.metrics.reply_first_audio.observe(max(0.0, time.time() - self.received_at))
        await self._emit(AiAudio(reply_id=self.reply_id, seq=seq, url=url, text=sentence))

    def _voice_clip(self, seq: int, sentence: str) -> AudioFeed | None:
        if self.deps.voice is None:
            return None
        return self.deps.voice.stream(self.room_id, self.reply_id, seq, sentence)

    async def _record_llm(self, report: UsageReport) -> None:
        # The reply is complete when its usage arrives: a store hiccup must not lose it.
        try:
            await self.deps.usage.record_llm(report)
        except UNAVAILABLE_ERRORS as exc:
            self.deps.metrics.errors.labels("tutor", "usage_not_recorded").inc()
            log.warning("reply %s: usage not recorded: %s", self.reply_id, exc)

    async def _record_speech(self, provider: str, characters: int, billed: int) -> None:
        await self.deps.usage.record_tts(provider, characters=characters, billed=billed)

    async def _voice_off(self, reason: OffReason, error: Exception | None) -> None:
        component = "storage" if reason == "storage_unavailable" else "tts"
        code = getattr(error, "code", reason) if error is not None else reason
        if reason != "voice_budget":
            self.deps.metrics.errors.labels(component, code).inc()
            log.warning("reply %s: voice off (%s): %s", self.reply_id, reason, error)
        elif not await self.deps.rooms.first_notice(self.room_id, reason):
            return  # the room already knows why voice is off
        await self._emit(Notice(code=reason, message=NOTICES[reason]))

    # -- the end ----------------------------------------------------------------------------

    async def _finish(self, *, interrupted: bool) -> Message | None:
        deps, outcome = self.deps, self._out
        if outcome.llm_budget:
            await self._emit(Notice(code="llm_budget", message=LLM_BUDGET_TEXT))
            return await self._store(LLM_BUDGET_TEXT, {"budget": "llm"})
        if outcome.report is None and outcome.received:
            # Stopped mid-stream: the provider never sent its count; estimate what it billed.
            await self._record_llm(
                UsageReport(
                    provider=deps.llm.provider,
                    model=deps.llm.model,
                    prompt_tokens=outcome.prompt_tokens,
                    completion_tokens=estimate_tokens("".join(outcome.received)),
                    estimated=True,
                    offline=outcome.offline,
                    duration_seconds=0,
                )
            )
        text = "".join(outcome.sent)
        if interrupted and self.heard is not None:
            text = self.heard[0]
        error = outcome.error
        if error is not None:
            await self._emit(
                AiError(
                    code=error.code,
                    message=ERROR_MESSAGES.get(error.code, ERROR_MESSAGES["upstream_error"]),
                    reply_id=self.reply_id,
                )
            )
        if not text.strip():
            return None
        metadata: dict[str, str | bool | int | float] = {
            "reply_id": self.reply_id,
            "offline": outcome.offline,
        }
        if interrupted:
            metadata["interrupted"] = True
        if error is not None:
            metadata["error"] = error.code
        speaker = outcome.speaker
        if speaker is not None and speaker.off_reason is not None:
            metadata["voice_off"] = speaker.off_reason
        if speaker is not None and interrupted and self.heard is not None:
            speaker.keep_first(self.heard[1])
        return await self._store(text, metadata, speaker)

    async def _store(
        self,
        text: str,
        metadata: dict[str, str | bool | int | float],
        speaker: Speaker | None = None,
    ) -> Message | None:
        try:
            stored, new = await self.deps.messages.append(
                self.room_id,
                Sender(kind="ai", display_name=self.companion.name),
                text,
                client_id=reply_client_id(self.message_id),
                audio_keys=speaker.keys if speaker else None,
                reply_to=self.message_id,
                metadata=metadata,
            )
        except ConversationClosed:
            return None
        if not new:
            return None  # another attempt finished this reply first: it sent ai-done
        # The room gets the URLs its ai-audio events carried; the store keeps the keys.
        urls = speaker.urls if speaker else []
        shown = stored.model_copy(update={"audio_urls": urls or None})
        await self._emit(AiDone(reply_id=self.reply_id, message=shown))
        return shown
