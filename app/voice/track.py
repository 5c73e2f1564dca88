"""The tutor's voice as an outbound WebRTC audio track, paced in real time.

Clips of a reply are queued as 48 kHz mono PCM and played back to back (no gap between
sentences). A clip may be queued while its audio is still arriving: the track plays what has been
decoded and waits (silence, still speaking) for the rest. With nothing queued the track sends
silence, so the browser's jitter buffer never
starves. ``cut()`` (barge-in) drops everything queued at once and says what was played.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from aiortc import MediaStreamTrack
from av.audio.frame import AudioFrame

RATE = 48_000
FRAME_SAMPLES = 960  # 20 ms
FRAME_BYTES = FRAME_SAMPLES * 2
TIME_BASE = fractions.Fraction(1, RATE)
SILENCE = bytes(FRAME_BYTES)
# A reply whose next clip is not decoded yet leaves a short gap; speech that starts in it still
# interrupts the reply.
BETWEEN_CLIPS = 0.3


@dataclass
class ClipAudio:
    """A clip's PCM, growing while it is decoded; shared by every track that plays it."""

    pcm: bytearray = field(default_factory=bytearray)
    complete: bool = False


@dataclass
class Clip:
    reply_id: str
    seq: int
    text: str
    audio: ClipAudio
    played: int = 0  # bytes
    started: bool = False

    @property
    def pcm(self) -> bytearray:
        return self.audio.pcm


@dataclass(frozen=True)
class Played:
    """What the listener heard of a reply when it was cut."""

    reply_id: str
    text: str
    clips: int  # clips started (their URLs stay in the stored reply)


def cut_text(text: str, fraction: float) -> str:
    """The part of a sentence heard after ``fraction`` of its audio, at a word boundary."""
    if fraction >= 1:
        return text
    words = text.split(" ")
    keep = round(len(words) * max(0.0, fraction))
    return " ".join(words[:keep])


class TutorVoiceTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(
        self,
        on_speaking: Callable[[bool], None] | None = None,
        on_clip: Callable[[Clip], None] | None = None,
    ) -> None:
        super().__init__()
        self._queue: deque[Clip] = deque()
        self._heard: list[Clip] = []  # clips of the current reply already started
        self._start: float | None = None
        self._pts = 0
        self._on_speaking = on_speaking
        self._on_clip = on_clip  # a clip starts playing (captions follow the voice)
        self.speaking = False
        self._last_voice = 0.0  # monotonic time of the last frame with the tutor's voice
        # Wall-clock time of the first audible frame of the current reply (the benchmark).
        self.first_audio_at: float | None = None

    @property
    def reply_id(self) -> str | None:
        if self._queue:
            return self._queue[0].reply_id
        return self._heard[-1].reply_id if self._heard else None

    def play(self, clip: Clip) -> None:
        if self._heard and self._heard[-1].reply_id != clip.reply_id:
            self._heard = []
        self._queue.append(clip)

    @property
    def interruptible(self) -> bool:
        """Speaking, or between two clips of a reply."""
        return self.speaking or time.monotonic() - self._last_voice < BETWEEN_CLIPS

    def cut(self) -> Played | None:
        """Stop at once; what was heard of the reply that was playing (None when silent)."""
        current = self._queue[0] if self._queue else None
        if current is None and not self._heard:
            return None
        reply_id = current.reply_id if current is not None else self._heard[-1].reply_id
        heard = [c for c in self._heard if c.reply_id == reply_id and c is not current]
        parts = [c.text for c in heard]
        if current is not None and current.played:
            parts.append(cut_text(current.text, current.played / max(1, len(current.pcm))))
        started = len(heard) + (1 if current is not None and current.played else 0)
        self._queue.clear()
        self._heard = []
        self._set_speaking(False)
        return Played(reply_id=reply_id, text=" ".join(p for p in parts if p), clips=started)

    def drop_reply(self, reply_id: str) -> None:
        """A reply that was superseded (a new turn): stop playing it, without accounting."""
        kept = deque(c for c in self._queue if c.reply_id != reply_id)
        if len(kept) != len(self._queue):
            self._queue = kept
            if not kept:
                self._set_speaking(False)

    def _next_frame(self) -> bytes:
        if not self._queue:
            self._set_speaking(False)
            return SILENCE
        out = bytearray()
        while len(out) < FRAME_BYTES and self._queue:
            clip = self._queue[0]
            take = clip.pcm[clip.played : clip.played + FRAME_BYTES - len(out)]
            if take and not clip.started:
                clip.started = True
                self._heard.append(clip)
                if self._on_clip is not None:
                    self._on_clip(clip)
            clip.played += len(take)
            out += take
            if clip.played >= len(clip.pcm):
                if not clip.audio.complete:
                    break  # the rest of this clip is still arriving
                self._queue.popleft()
        if not out:
            return SILENCE  # waiting for a clip's audio: still the tutor's turn to speak
        self._set_speaking(True)
        self._last_voice = time.monotonic()
        if len(out) < FRAME_BYTES:
            out += bytes(FRAME_BYTES - len(out))
        return bytes(out)

    def _set_speaking(self, speaking: bool) -> None:
        if speaking != self.speaking:
            self.speaking = speaking
            if speaking:
                self.first_audio_at = time.time()
            if self._on_speaking is not None:
                self._on_speaking(speaking)

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            from aiortc.mediastreams import MediaStreamError

            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._pts += FRAME_SAMPLES
            wait = self._start + self._pts / RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        frame = AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(self._next_frame())
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = TIME_BASE
        return frame
