"""A tutor-call client without a browser: an aiortc peer that speaks PCM it is given (silence
otherwise, paced in real time like a microphone) and measures the tutor's voice it receives."""

from __future__ import annotations

import array
import asyncio
import fractions
import math
import subprocess
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler

from tests.clients import SocketClient

RATE = 48_000
FRAME = 960
TIME_BASE = fractions.Fraction(1, RATE)
# A frame of received tutor audio louder than this RMS counts as voice.
VOICE_RMS = 200.0


def speech(text: str, workdir: Path, rate: int = RATE) -> bytes:
    """``text`` spoken by espeak-ng in the voice pocketsphinx recognizes, as mono s16 PCM."""
    wav = workdir / f"say-{abs(hash(text))}.wav"
    subprocess.run(
        ["espeak-ng", "-v", "en-us+klatt2", "-s", "150", "-w", str(wav), text], check=True
    )
    raw = subprocess.run(
        ["sox", str(wav), "-r", str(rate), "-c", "1", "-b", "16", "-e", "signed", "-t", "raw", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return raw


def rms(pcm: bytes) -> float:
    samples = array.array("h", pcm)
    return math.sqrt(sum(s * s for s in samples) / max(1, len(samples)))


async def poll(predicate: Callable[[], bool], timeout: float = 20, what: str = "it") -> None:
    """For state an aiortc track changes frame by frame, where no event exists to await."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"waited {timeout:g}s for {what}")


class Microphone(MediaStreamTrack):
    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._queue: deque[tuple[bytes, bool]] = deque()
        self.started: list[float] = []  # wall clock when each said PCM began to be sent
        self._start: float | None = None
        self._pts = 0
        self.spoken_until: float | None = None  # wall clock when the queued speech ends
        self.unplugged = asyncio.Event()  # set: no more frames, so no more RTP

    @property
    def pending(self) -> int:
        return len(self._queue)

    def say(self, pcm: bytes) -> float:
        """Queue speech; returns when (wall clock) its last sample will have been sent."""
        for i in range(0, len(pcm), FRAME * 2):
            chunk = pcm[i : i + FRAME * 2]
            self._queue.append((chunk + bytes(FRAME * 2 - len(chunk)), i == 0))
        self.spoken_until = time.time() + len(self._queue) * FRAME / RATE
        return self.spoken_until

    async def recv(self) -> AudioFrame:
        if self.unplugged.is_set():
            await asyncio.Event().wait()
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._pts += FRAME
            wait = self._start + self._pts / RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        frame = AudioFrame(format="s16", layout="mono", samples=FRAME)
        pcm = bytes(FRAME * 2)
        if self._queue:
            pcm, first = self._queue.popleft()
            if first:
                self.started.append(time.time())
        frame.planes[0].update(pcm)
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = TIME_BASE
        return frame


class TutorCall:
    """One human's tutor peer, signaled over their Socket.IO connection."""

    def __init__(self, socket: SocketClient, room_id: str) -> None:
        self.socket = socket
        self.room_id = room_id
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.mic = Microphone()
        self.pc.addTrack(self.mic)
        self.voiced: list[float] = []  # wall-clock times of received frames with voice
        self.frames = 0
        self._reader: asyncio.Task[None] | None = None

        @self.pc.on("track")
        def on_track(track: Any) -> None:
            self._reader = asyncio.ensure_future(self._read(track))

    async def _read(self, track: Any) -> None:
        resampler = AudioResampler(format="s16", layout="mono", rate=RATE)
        while True:
            try:
                frame = await track.recv()
            except Exception:
                return
            self.frames += 1
            for f in resampler.resample(frame):
                if rms(bytes(f.planes[0])[: f.samples * 2]) > VOICE_RMS:
                    self.voiced.append(time.time())

    async def offer(self) -> dict[str, Any]:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return await self.socket.call(
            "tutor-offer",
            {
                "room_id": self.room_id,
                "sdp": {"type": "offer", "sdp": self.pc.localDescription.sdp},
            },
        )

    async def start(self) -> None:
        ack = await self.offer()
        assert ack["ok"], ack
        await self.pc.setRemoteDescription(RTCSessionDescription(**ack["sdp"]))

    async def mic_done(self) -> None:
        """Wait until everything queued on the microphone was sent."""
        await poll(lambda: not self.mic.pending, what="the microphone to be sent")

    async def voice_after(self, since: float, timeout: float = 20) -> float:
        """The first time voice was received after ``since`` (wall clock)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            later = [t for t in self.voiced if t > since]
            if later:
                return later[0]
            await asyncio.sleep(0.01)
        raise TimeoutError("no tutor voice received")

    async def silent_after(self, since: float, quiet: float = 0.3, timeout: float = 10) -> float:
        """The last voiced frame once ``quiet`` seconds passed without voice after ``since``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = max([t for t in self.voiced], default=0.0)
            if time.time() - max(last, since) >= quiet:
                return max(last, since)
            await asyncio.sleep(0.02)
        raise TimeoutError("the tutor kept speaking")

    async def close(self) -> None:
        if self.socket.sio.connected:
            await self.socket.call("tutor-leave", {"room_id": self.room_id})
        if self._reader is not None:
            self._reader.cancel()
        await self.pc.close()
