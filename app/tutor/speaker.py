"""Finished sentences in; their audio synthesized at once, stored, and announced in order.

Each sentence starts synthesis the moment it is finished (a few at a time), so the first one is
speaking while the model is still writing the rest. Clips are announced strictly in sentence
order: a sentence waits for the one before it. The first failure (the voice engine, storage, or
the budget running out) switches voice off for the rest of the reply: sentences before it are
still announced, none after it, and the reply goes on as text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Literal, Protocol

from app.providers.errors import ProviderError, StorageError
from app.providers.storage import Storage, extension_for
from app.providers.tts import TTS
from app.store.redis import UNAVAILABLE_ERRORS
from app.tutor.usage import VoiceAllowance

log = logging.getLogger(__name__)

OffReason = Literal["voice_budget", "voice_unavailable", "storage_unavailable"]
Announce = Callable[[int, str, str], Awaitable[None]]  # seq, url, sentence
RecordSpeech = Callable[[str, int, int], Awaitable[None]]  # provider, characters, billed
SwitchedOff = Callable[[OffReason, Exception | None], Awaitable[None]]


class AudioFeed(Protocol):
    """Where a sentence's audio goes as it streams in (the call), before it is stored whole."""

    def write(self, chunk: bytes) -> None: ...

    def close(self) -> None: ...


OnAudio = Callable[[int, str], AudioFeed | None]  # seq, sentence


class Speaker:
    def __init__(
        self,
        *,
        tts: TTS,
        storage: Storage,
        voice: str,
        key_prefix: str,
        allowance: VoiceAllowance,
        announce: Announce,
        record: RecordSpeech,
        switched_off: SwitchedOff,
        concurrency: int = 3,
        storage_timeout: float = 10.0,
        on_audio: OnAudio | None = None,
    ) -> None:
        self._tts = tts
        self._storage = storage
        self._voice = voice
        self._key_prefix = key_prefix
        self._allowance = allowance
        self._announce = announce
        self._record = record
        self._switched_off = switched_off
        self._slots = asyncio.Semaphore(concurrency)
        self._storage_timeout = storage_timeout
        self._on_audio = on_audio
        self._tasks: list[asyncio.Task[None]] = []
        # The sequence number of the first sentence that got no voice; None while voice is on.
        self.off_at: int | None = None if tts.enabled else 0
        self.off_reason: OffReason | None = None
        # The announced clips: storage keys (what the message keeps) and the URLs handed out.
        self.keys: list[str] = []
        self.urls: list[str] = []

    def keep_first(self, clips: int | None) -> None:
        """Barge-in by voice: the stored reply keeps the clips the listener began to hear."""
        if clips is not None:
            del self.keys[clips:]
            del self.urls[clips:]

    async def say(self, sentence: str) -> None:
        seq = len(self._tasks)
        if self.off_at is not None:
            return
        if not self._allowance.take(len(sentence)):
            await self._switch_off(seq, "voice_budget", None)
            return
        previous = self._tasks[-1] if self._tasks else None
        self._tasks.append(asyncio.create_task(self._clip(seq, sentence, previous)))

    async def finish(self) -> None:
        """Wait until every sentence said so far was announced (or dropped)."""
        if self._tasks:
            await self._tasks[-1]

    async def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _clip(self, seq: int, sentence: str, previous: asyncio.Task[None] | None) -> None:
        clip: tuple[str, str] | None = None
        try:
            async with self._slots:
                if self.off_at is None or seq < self.off_at:
                    clip = await self._make(seq, sentence)
        except ProviderError as exc:
            await self._switch_off(seq, "voice_unavailable", exc)
        except (StorageError, TimeoutError) as exc:
            await self._switch_off(seq, "storage_unavailable", exc)
        except UNAVAILABLE_ERRORS as exc:  # the usage could not be recorded
            await self._switch_off(seq, "voice_unavailable", exc)
        except Exception as exc:  # a bug: voice off, text goes on
            log.exception("speech for sentence %d failed", seq)
            await self._switch_off(seq, "voice_unavailable", exc)
        if previous is not None:
            await previous  # announce in order (a clip task never raises)
        if clip is not None and (self.off_at is None or seq < self.off_at):
            key, url = clip
            self.keys.append(key)
            self.urls.append(url)
            await self._announce(seq, url, sentence)

    async def _make(self, seq: int, sentence: str) -> tuple[str, str]:
        chunks: list[bytes] = []
        async with self._tts.synthesize(sentence, self._voice) as speech:
            # The call hears each chunk as it arrives, before the clip is counted and stored.
            feed = self._on_audio(seq, sentence) if self._on_audio else None
            try:
                async for chunk in speech:
                    chunks.append(chunk)
                    if feed is not None:
                        feed.write(chunk)
            finally:
                if feed is not None:
                    feed.close()
        audio = b"".join(chunks)
        await self._record(speech.provider, speech.characters, speech.characters_billed)
        key = f"{self._key_prefix}/{seq}{extension_for(speech.content_type)}"
        async with asyncio.timeout(self._storage_timeout):
            return key, await self._storage.put(key, audio, speech.content_type)

    async def _switch_off(self, seq: int, reason: OffReason, error: Exception | None) -> None:
        if self.off_at is not None and self.off_at <= seq:
            return
        first = self.off_at is None
        self.off_at = seq
        self.off_reason = reason
        if first:
            await self._switched_off(reason, error)
