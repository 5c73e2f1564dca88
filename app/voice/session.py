"""One human's tutor peer connection: their microphone in, the tutor's voice out.

The browser offers; we answer with every candidate gathered (aiortc gathers before it answers),
and take the browser's trickled candidates, also those that arrive before the offer. Inbound
audio goes 48 kHz Opus → 16 kHz mono PCM → VAD; the hub hears of onsets and utterances.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.jitterbuffer import JitterBuffer
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcicetransport import RTCIceCandidate
from aiortc.sdp import candidate_from_sdp

from app.voice.audio import Downsampler
from app.voice.track import Clip, TutorVoiceTrack
from app.voice.vad import Segmenter, SpeechModel, VadEvent

log = logging.getLogger(__name__)

MAX_PENDING_CANDIDATES = 64
# Audio frames aiortc's receiver holds back before decoding (its default is 4, 80 ms). Every
# frame held delays the end of an utterance and a barge-in by 20 ms; one still absorbs the
# reordering a LAN or a TURN relay adds. aiortc has no setting for it.
JITTER_PREFETCH = 1


def shorten_jitter_buffer(pc: RTCPeerConnection, prefetch: int = JITTER_PREFETCH) -> None:
    for transceiver in pc.getTransceivers():
        if transceiver.kind != "audio":
            continue
        receiver = transceiver.receiver
        name = "_RTCRtpReceiver__jitter_buffer"
        if hasattr(receiver, name):
            setattr(receiver, name, JitterBuffer(capacity=16, prefetch=prefetch))


class BadOffer(ValueError):
    pass


class BadCandidate(ValueError):
    pass


@dataclass(frozen=True)
class VadSettings:
    silence_seconds: float = 0.4
    min_speech_seconds: float = 0.25
    idle_timeout: float = 60.0


def parse_candidate(payload: dict[str, Any]) -> RTCIceCandidate | None:
    """A browser ``RTCIceCandidateInit`` as aiortc's candidate; None for end-of-candidates."""
    line = str(payload.get("candidate") or "")
    if not line:
        return None
    try:
        candidate = candidate_from_sdp(line.removeprefix("candidate:"))
    except Exception as exc:  # aiortc's parser raises whatever the split or int() raised
        raise BadCandidate("candidate: not an ICE candidate line") from exc
    candidate.sdpMid = payload.get("sdpMid")
    candidate.sdpMLineIndex = payload.get("sdpMLineIndex")
    return candidate


OnVad = Callable[["VoiceSession", str, VadEvent], Awaitable[None]]


class VoiceSession:
    def __init__(
        self,
        *,
        sid: str,
        room_id: str,
        user_id: str,
        ice_servers: list[RTCIceServer],
        model: SpeechModel,
        vad: VadSettings,
        on_vad: OnVad,
        on_closed: Callable[[VoiceSession], Awaitable[None]],
        on_speaking: Callable[[VoiceSession, bool], None],
        on_clip: Callable[[VoiceSession, Clip], None],
    ) -> None:
        self.sid = sid
        self.room_id = room_id
        self.user_id = user_id
        self.asking = False  # push-to-talk held ("Ask <name>")
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=ice_servers))
        self.track = TutorVoiceTrack(
            on_speaking=lambda speaking: on_speaking(self, speaking),
            on_clip=lambda clip: on_clip(self, clip),
        )
        self._segmenter = Segmenter(
            model, silence_seconds=vad.silence_seconds, min_speech_seconds=vad.min_speech_seconds
        )
        self._idle_timeout = vad.idle_timeout
        self._on_vad = on_vad
        self._on_closed = on_closed
        self._pending: list[RTCIceCandidate] = []
        self._described = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.utterance_id: str | None = None
        self.idle = False  # closed because no audio arrived for idle_timeout

        @self.pc.on("track")
        def on_track(track: Any) -> None:
            if track.kind == "audio":
                self._spawn(self._listen(track))

        @self.pc.on("connectionstatechange")
        async def on_state() -> None:
            if self.pc.connectionState in ("failed", "closed"):
                await self.close()

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def add_candidate(self, payload: dict[str, Any]) -> None:
        candidate = parse_candidate(payload)
        if candidate is None:
            return
        if not self._described:
            if len(self._pending) < MAX_PENDING_CANDIDATES:
                self._pending.append(candidate)
            return
        await self.pc.addIceCandidate(candidate)

    async def answer(self, sdp: str) -> str:
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        except Exception as exc:  # aiortc raises assorted errors for an unreadable SDP
            raise BadOffer(f"sdp: not a usable offer ({exc})") from exc
        if not any(t.kind == "audio" for t in self.pc.getTransceivers()):
            raise BadOffer("sdp: the offer has no audio")
        self.pc.addTrack(self.track)
        shorten_jitter_buffer(self.pc)
        self._described = True
        for candidate in self._pending:
            with contextlib.suppress(Exception):
                await self.pc.addIceCandidate(candidate)
        self._pending.clear()
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return str(self.pc.localDescription.sdp)

    async def _listen(self, track: Any) -> None:
        downsampler = Downsampler()
        try:
            while True:
                try:
                    frame = await asyncio.wait_for(track.recv(), self._idle_timeout)
                except TimeoutError:
                    log.info("voice session %s: no audio for %gs", self.sid, self._idle_timeout)
                    self.idle = True
                    break
                for event in self._segmenter.feed(downsampler.convert(frame)):
                    if event.kind == "onset":
                        self.utterance_id = uuid.uuid4().hex
                    if self.utterance_id is not None:
                        await self._on_vad(self, self.utterance_id, event)
                    if event.kind in ("end", "discard"):
                        self.utterance_id = None
        except MediaStreamError:
            pass
        except Exception:
            log.exception("voice session %s: inbound audio failed", self.sid)
        finally:
            if not self._closed:
                self._spawn(self.close())

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.track.stop()
        with contextlib.suppress(Exception):
            await self.pc.close()
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        await self._on_closed(self)
