"""The voice sessions of one replica, and what connects them to rooms and to the tutor.

    mic ─► session (VAD) ─► onset: barge-in ─► recognizer ─► utterance ─► addressed?
        ─► `transcript` + learner message (spoken) ─► the tutor's job queue (once, any replica)
    reply clips ─► every session of the room on this replica, in order ─► `tutor-state`

Clips of a reply this replica runs come straight from its Speaker, chunk by chunk as they stream;
clips of a reply another replica runs come from their stored copy, named by the ``ai-audio``
event. Audio never travels through the shared pub/sub channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
import socketio
from aiortc import RTCIceServer

from app.catalogue import Catalogue
from app.models import Message, Sender
from app.observability.metrics import Metrics
from app.providers.errors import ProviderError
from app.providers.storage.local import LocalStorage
from app.providers.stt import STT, Recognition
from app.server_events import (
    AiDone,
    AiSpeaker,
    Notice,
    RoomMessage,
    ServerEvents,
    Transcript,
    TutorState,
    UserSpeaker,
)
from app.store.messages import ConversationClosed, MessageStore, NotAMember
from app.store.rooms import RoomStore
from app.tutor.jobs import Control
from app.tutor.service import Tutor
from app.tutor.usage import UsageStore
from app.voice.addressing import for_tutor
from app.voice.audio import StreamDecoder, decode_clip
from app.voice.session import VadSettings, VoiceSession, parse_candidate
from app.voice.track import Clip, ClipAudio, Played
from app.voice.vad import SileroModel, SpeechModel, VadEvent

log = logging.getLogger(__name__)

VOICE_IDLE = "The tutor stopped listening: no audio reached it for a while."
State = Literal["listening", "thinking", "speaking"]
SPEECH_FAILED = "Your speech could not be transcribed just now; say it again, or type it."


class ClipFeed:
    """One sentence's audio chunks, decoded onto its clip as they arrive (the Speaker's feed)."""

    def __init__(self, decoder: StreamDecoder, metrics: Metrics) -> None:
        self.audio = ClipAudio()
        self._decoder: StreamDecoder | None = decoder
        self._metrics = metrics

    def write(self, chunk: bytes) -> None:
        if self._decoder is not None:
            self._decode(lambda d: d.decode(chunk))

    def close(self) -> None:
        if self._decoder is not None:
            self._decode(lambda d: d.flush())
        self._decoder = None
        self.audio.complete = True

    def _decode(self, step: Callable[[StreamDecoder], bytes]) -> None:
        assert self._decoder is not None
        try:
            self.audio.pcm += step(self._decoder)
        except Exception as exc:  # the call skips the rest of this sentence
            log.warning("voice: clip not playable: %r", exc)
            self._metrics.errors.labels("voice", "clip_unplayable").inc()
            self._decoder = None


class VoiceBusy(Exception):
    pass


@dataclass
class _Utterance:
    """One utterance on its way through the recognizer (fed by a queue, so that recognition
    never holds up the inbound audio, and barge-in stays immediate)."""

    id: str
    session: VoiceSession
    stt: STT
    recognition: Recognition
    # Push-to-talk was held when the utterance started: it is for the tutor.
    asked: bool
    queue: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    discarded: bool = False


@dataclass
class _RoomPlayback:
    """Clips of the room's current reply, released to the tracks strictly in order."""

    reply_id: str | None = None
    next_seq: int = 0
    ready: dict[int, Clip] = field(default_factory=dict)
    seen: set[tuple[str, int]] = field(default_factory=set)
    # Replies cut or superseded: their clips still in synthesis or decoding must not play.
    stopped: deque[str] = field(default_factory=lambda: deque(maxlen=32))

    def stop(self, reply_id: str) -> None:
        if reply_id not in self.stopped:
            self.stopped.append(reply_id)
        if self.reply_id == reply_id:
            self.ready = {}


Ice = Callable[[str], Awaitable[list[RTCIceServer]]]


class VoiceHub:
    def __init__(
        self,
        *,
        sio: socketio.AsyncServer,
        rooms: RoomStore,
        messages: MessageStore,
        catalogue: Catalogue,
        tutor: Tutor,
        stt: STT,
        usage: UsageStore,
        metrics: Metrics,
        http: httpx.AsyncClient,
        local_media: LocalStorage | None,
        ice: Ice,
        sign: Callable[[Sequence[Message]], Awaitable[list[Message]]],
        max_sessions: int,
        vad: VadSettings,
        seconds_budget: int = 0,
        offline_stt: Callable[[], STT] | None = None,
        model_factory: Callable[[], SpeechModel] = SileroModel,
    ) -> None:
        self._events = ServerEvents(sio)
        self._rooms = rooms
        self._messages = messages
        self._catalogue = catalogue
        self._tutor = tutor
        self.stt = stt
        self._usage = usage
        self._metrics = metrics
        self._http = http
        self._local_media = local_media
        self._ice = ice
        self._sign = sign  # stored audio keys -> URLs, as messages are handed out
        self.max_sessions = max_sessions
        # A billed recognizer's monthly seconds; past them, the offline one takes over.
        self._seconds_budget = seconds_budget
        self._offline_factory = offline_stt
        self._offline: STT | None = None
        self._vad = vad
        self._model_factory = model_factory
        self.sessions: dict[str, VoiceSession] = {}
        self._pending_candidates: dict[str, list[dict[str, Any]]] = {}
        self._utterances: dict[str, _Utterance] = {}
        self._playback: dict[str, _RoomPlayback] = {}
        # When the question now being answered ended, per session (voice-to-voice latency).
        self._asked_at: dict[str, float] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        tutor.on_control.append(self._on_control)

    # -- signaling (called by the realtime layer) ------------------------------------------

    async def offer(self, sid: str, room_id: str, user_id: str, sdp: str) -> str:
        old = self.sessions.pop(sid, None)  # one tutor peer per socket: a new offer replaces it
        if old is not None:
            await old.close()
        if len(self.sessions) >= self.max_sessions:
            self._pending_candidates.pop(sid, None)
            raise VoiceBusy
        session = VoiceSession(
            sid=sid,
            room_id=room_id,
            user_id=user_id,
            ice_servers=await self._ice(user_id),
            model=await asyncio.to_thread(self._model_factory),
            vad=self._vad,
            on_vad=self._on_vad,
            on_closed=self._on_closed,
            on_speaking=self._on_speaking,
            on_clip=self._on_clip,
        )
        self.sessions[sid] = session
        self._metrics.voice_sessions.set(len(self.sessions))
        for candidate in self._pending_candidates.pop(sid, []):
            with contextlib.suppress(ValueError):
                await session.add_candidate(candidate)
        try:
            return await session.answer(sdp)
        except BaseException:
            await session.close()
            raise

    async def candidate(self, sid: str, candidate: dict[str, Any]) -> None:
        parse_candidate(candidate)  # refuse a bad one now, even if it has to wait
        session = self.sessions.get(sid)
        if session is not None:
            await session.add_candidate(candidate)
            return
        # Trickled before the offer was handled: kept for the session the offer creates.
        pending = self._pending_candidates.setdefault(sid, [])
        if len(pending) < 64:
            pending.append(candidate)

    async def leave(self, sid: str, room_id: str | None = None) -> None:
        self._pending_candidates.pop(sid, None)
        session = self.sessions.get(sid)
        if session is not None and (room_id is None or session.room_id == room_id):
            await session.close()

    def ask(self, sid: str, room_id: str, active: bool) -> None:
        session = self.sessions.get(sid)
        if session is not None and session.room_id == room_id:
            session.asking = active

    async def close(self) -> None:
        for session in list(self.sessions.values()):
            await session.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _on_closed(self, session: VoiceSession) -> None:
        if self.sessions.get(session.sid) is session:
            del self.sessions[session.sid]
        self._metrics.voice_sessions.set(len(self.sessions))
        self._asked_at.pop(session.sid, None)
        utterance = self._utterances.pop(session.sid, None)
        if utterance is not None:
            utterance.discarded = True
            utterance.queue.put_nowait(None)
        if not any(s.room_id == session.room_id for s in self.sessions.values()):
            self._playback.pop(session.room_id, None)
        if session.idle:
            notice = Notice(code="voice_idle", message=VOICE_IDLE)
            self._spawn(self._events.send(notice, to=session.sid))

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- listening -------------------------------------------------------------------------

    async def _on_vad(self, session: VoiceSession, utterance_id: str, event: VadEvent) -> None:
        if event.kind == "onset":
            await self._barge_in(session)
            stt = await self._recognizer()
            started = _Utterance(
                id=utterance_id,
                session=session,
                stt=stt,
                recognition=stt.start(self._partial_sender(session, utterance_id, session.asking)),
                asked=session.asking,
            )
            self._utterances[session.sid] = started
            started.queue.put_nowait(event.pcm)
            self._spawn(self._recognize(started))
            return
        utterance = self._utterances.get(session.sid)
        if utterance is None or utterance.id != utterance_id:
            return
        if event.kind == "speech":
            utterance.queue.put_nowait(event.pcm)
        else:
            utterance.ended = time.monotonic()
            utterance.discarded = event.kind == "discard"
            utterance.queue.put_nowait(None)
            self._utterances.pop(session.sid, None)

    async def _recognizer(self) -> STT:
        if self.stt.offline or self._seconds_budget <= 0 or self._offline_factory is None:
            return self.stt
        try:
            used = await self._usage.stt_seconds_this_month()
        except Exception:  # the store is down: keep listening with the configured vendor
            return self.stt
        if used < self._seconds_budget:
            return self.stt
        if self._offline is None:
            self._offline = self._offline_factory()
        return self._offline

    def _partial_sender(
        self, session: VoiceSession, utterance_id: str, asked: bool
    ) -> Callable[[str], Awaitable[None]]:
        async def partial(text: str) -> None:
            if asked or await self._humans(session.room_id) <= 1:
                await self._transcript(session, utterance_id, text, final=False)

        return partial

    async def _recognize(self, utterance: _Utterance) -> None:
        session, recognition = utterance.session, utterance.recognition
        failure: ProviderError | None = None
        while True:
            pcm = await utterance.queue.get()
            if pcm is None:
                break
            if failure is None:
                try:
                    await recognition.feed(pcm)
                except ProviderError as exc:
                    failure = exc
        if utterance.discarded or failure is not None:
            with contextlib.suppress(Exception):
                await recognition.cancel()
            if failure is not None and not utterance.discarded:
                await self._speech_failed(session, failure)
            return
        try:
            text = (await recognition.finish()).strip()
        except ProviderError as exc:
            await self._speech_failed(session, exc)
            return
        finally:
            await self._record_seconds(utterance.stt, recognition.seconds)
        if utterance.ended is not None:
            self._metrics.stt_final_seconds.observe(time.monotonic() - utterance.ended)
        if text:
            heard = await self._heard(
                session, utterance.id, text, asked=utterance.asked, stt=utterance.stt
            )
            if heard:
                self._asked_at[session.sid] = utterance.ended or time.monotonic()

    async def _record_seconds(self, stt: STT, seconds: float) -> None:
        if seconds <= 0:
            return
        self._metrics.stt_audio_seconds.labels(stt.provider).inc(seconds)
        with contextlib.suppress(Exception):
            await self._usage.record_stt(stt.provider, seconds, billed=not stt.offline)

    async def _speech_failed(self, session: VoiceSession, error: ProviderError) -> None:
        log.warning("voice session %s: speech to text failed: %s", session.sid, error)
        self._metrics.errors.labels("stt", error.code).inc()
        notice = Notice(code="speech_unavailable", message=SPEECH_FAILED)
        await self._events.send(notice, to=session.sid)

    async def _humans(self, room_id: str) -> int:
        return len({peer.user_id for peer in await self._rooms.peers(room_id)})

    async def _heard(
        self, session: VoiceSession, utterance_id: str, text: str, *, asked: bool, stt: STT
    ) -> bool:
        """Store and queue an utterance addressed to the tutor; False when it was not."""
        room = await self._rooms.get(session.room_id)
        companion = self._catalogue.get(room.companion_id) if room else None
        if room is None or companion is None:
            return False
        humans = await self._humans(session.room_id)
        if not for_tutor(humans=humans, asked=asked, text=text, companion_name=companion.name):
            return False  # the two humans talking to each other
        await self._transcript(session, utterance_id, text, final=True)
        peer = next(
            (p for p in await self._rooms.peers(session.room_id) if p.sid == session.sid), None
        )
        sender = Sender(
            kind="user",
            user_id=session.user_id,
            display_name=peer.display_name if peer else session.user_id,
        )
        try:
            stored, new = await self._messages.append(
                session.room_id,
                sender,
                text,
                client_id=f"utt-{utterance_id}",
                metadata={
                    "spoken": True,
                    "utterance_id": utterance_id,
                    # Which recognizer wrote the text; offline (pocketsphinx) is labelled as such.
                    "stt": stt.provider,
                    "stt_offline": stt.offline,
                },
                member_sid=session.sid,
            )
        except (ConversationClosed, NotAMember):
            return False
        await self._events.send(RoomMessage(**stored.model_dump()), room=session.room_id)
        await self._state(session.room_id, "thinking")
        await self._tutor.on_learner_message(session.room_id, stored, retried=not new)
        return True

    async def _transcript(
        self, session: VoiceSession, utterance_id: str, text: str, *, final: bool
    ) -> None:
        transcript = Transcript(
            room_id=session.room_id,
            utterance_id=utterance_id,
            speaker=UserSpeaker(user_id=session.user_id),
            text=text,
            final=final,
        )
        await self._events.send(transcript, room=session.room_id)

    async def _state(self, room_id: str, state: State, *, to: str | None = None) -> None:
        event = TutorState(room_id=room_id, state=state)
        if to is not None:
            await self._events.send(event, to=to)
        else:
            await self._events.send(event, room=room_id)

    def _on_speaking(self, session: VoiceSession, speaking: bool) -> None:
        asked_at = self._asked_at.pop(session.sid, None) if speaking else None
        if asked_at is not None:
            self._metrics.voice_first_audio.observe(time.monotonic() - asked_at)
        self._spawn(
            self._state(session.room_id, "speaking" if speaking else "listening", to=session.sid)
        )

    def _on_clip(self, session: VoiceSession, clip: Clip) -> None:
        """The tutor's side of the captions, as each sentence starts playing to this person."""
        caption = Transcript(
            room_id=session.room_id,
            utterance_id=f"{clip.reply_id}-{clip.seq}",
            speaker=AiSpeaker(),
            text=clip.text,
            final=True,
        )
        self._spawn(self._events.send(caption, to=session.sid))

    # -- barge-in --------------------------------------------------------------------------

    async def _barge_in(self, session: VoiceSession) -> None:
        if not session.track.interruptible:
            return
        if not session.asking and await self._humans(session.room_id) > 1:
            return  # the other human may be talking to the tutor; this one is not
        played = session.track.cut()
        if played is None:
            return
        self._metrics.voice_barge_ins.inc()
        playback = self._playback.get(session.room_id)
        if playback is not None:
            playback.stop(played.reply_id)
        for other in self._room_sessions(session.room_id):
            other.track.drop_reply(played.reply_id)
        await self._tutor.stop(
            session.room_id, played.reply_id, played=played.text, played_clips=played.clips
        )
        await self._cut_stored(session.room_id, played)

    async def _cut_stored(self, room_id: str, played: Played) -> None:
        """A reply already stored whole (the model was faster than the voice): keep what was
        heard, and tell the room with a fresh ``ai-done``."""
        for message in reversed(await self._messages.recent(room_id, limit=20)):
            meta = message.metadata or {}
            if message.sender.kind != "ai" or meta.get("reply_id") != played.reply_id:
                continue
            if meta.get("interrupted"):
                return
            cut = message.model_copy(
                update={
                    "text": played.text,
                    "audio_urls": (message.audio_urls or [])[: played.clips] or None,
                    "metadata": {**meta, "interrupted": True},
                }
            )
            if await self._messages.replace(room_id, cut):
                (shown,) = await self._sign([cut])
                done = AiDone(reply_id=played.reply_id, message=shown)
                await self._events.send(done, room=room_id)
            return

    def _on_control(self, control: Control) -> None:
        """Any replica's stop or new turn: this replica's tracks stop the replies it ends."""
        playback = self._playback.get(control.room_id)
        if playback is None:
            return
        ended = control.reply_id or playback.reply_id
        if ended is None:
            return
        playback.stop(ended)
        for session in self._room_sessions(control.room_id):
            session.track.drop_reply(ended)

    # -- speaking --------------------------------------------------------------------------

    def _room_sessions(self, room_id: str) -> list[VoiceSession]:
        return [s for s in self.sessions.values() if s.room_id == room_id]

    def wants(self, room_id: str) -> bool:
        return any(s.room_id == room_id for s in self.sessions.values())

    def stream(self, room_id: str, reply_id: str, seq: int, text: str) -> ClipFeed | None:
        """A sentence of this replica's reply, fed as its audio streams in: queued in order for
        the room at once, so the call hears it while the rest is still arriving."""
        if not self._claim(room_id, reply_id, seq):
            return None
        feed = ClipFeed(StreamDecoder(), self._metrics)
        self._queue(room_id, reply_id, seq, text, feed.audio)
        return feed

    def clip(self, room_id: str, reply_id: str, seq: int, text: str, url: str) -> None:
        """A sentence of another replica's reply (its ``ai-audio``): fetched from storage, then
        queued in order for the room."""
        if self._claim(room_id, reply_id, seq):
            self._spawn(self._fetch_and_queue(room_id, reply_id, seq, text, url))

    def _claim(self, room_id: str, reply_id: str, seq: int) -> bool:
        if not self.wants(room_id):
            return False
        playback = self._playback.setdefault(room_id, _RoomPlayback())
        if (reply_id, seq) in playback.seen or reply_id in playback.stopped:
            return False
        playback.seen.add((reply_id, seq))
        return True

    async def _fetch_and_queue(
        self, room_id: str, reply_id: str, seq: int, text: str, url: str
    ) -> None:
        try:
            pcm = await asyncio.to_thread(decode_clip, await self._fetch(url))
        except Exception as exc:
            log.warning("voice: clip %s/%d not playable: %r", reply_id, seq, exc)
            self._metrics.errors.labels("voice", "clip_unplayable").inc()
            pcm = b""
        self._queue(room_id, reply_id, seq, text, ClipAudio(bytearray(pcm), complete=True))

    def _queue(self, room_id: str, reply_id: str, seq: int, text: str, audio: ClipAudio) -> None:
        playback = self._playback.get(room_id)
        if playback is None or reply_id in playback.stopped:
            return  # the room left, or the reply was cut while this clip was fetched
        if playback.reply_id != reply_id:
            if playback.reply_id is not None:
                for session in self._room_sessions(room_id):
                    session.track.drop_reply(playback.reply_id)
            playback.reply_id, playback.next_seq, playback.ready = reply_id, 0, {}
            playback.seen = {key for key in playback.seen if key[0] == reply_id}
        playback.ready[seq] = Clip(reply_id=reply_id, seq=seq, text=text, audio=audio)
        while playback.next_seq in playback.ready:
            clip = playback.ready.pop(playback.next_seq)
            playback.next_seq += 1
            for session in self._room_sessions(room_id):
                session.track.play(Clip(clip.reply_id, clip.seq, clip.text, clip.audio))

    async def _fetch(self, url: str) -> bytes:
        parts = urlsplit(url)
        if self._local_media is not None and not parts.netloc:
            path = self._local_media.path_for(parts.path.removeprefix("/media/"))
            if path is None:
                raise ValueError("not a media key")
            return await asyncio.to_thread(path.read_bytes)
        response = await self._http.get(url)
        response.raise_for_status()
        return response.content

    def on_room_event(self, event: str, data: Any, room: str | None) -> None:
        """Events of other replicas' replies, as this replica's manager receives them."""
        if event != "ai-audio" or room is None or not isinstance(data, dict):
            return
        try:
            self.clip(
                room, str(data["reply_id"]), int(data["seq"]), str(data["text"]), str(data["url"])
            )
        except (KeyError, ValueError, TypeError):
            return
