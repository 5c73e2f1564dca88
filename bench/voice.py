"""Voice calls with the tutor: voice-to-voice latency, barge-in, and capacity against a bare
aiortc endpoint, each beside its baseline in the same run.

One real replica (``python -m app``) with stand-ins on loopback: transcription (OpenAI-compatible,
answers after 100 ms), the LLM (the reference profile: first token after 300 ms, then 40
tokens/s), and ElevenLabs-compatible TTS answering a tone after 150 ms. The client is aiortc
(no browser) speaking espeak-ng audio, so the end of speech and the speech onset are known from
the WAV.

- Voice to voice: end of the learner's speech -> first tutor audio at the client, over
  BENCH_VOICE_TURNS turns (20). "Floor" is what the design and the stubs impose (silence window
  + STT + LLM to the first sentence + TTS first byte); overhead is the rest.
- Barge-in: each next question starts while the tutor speaks: speech onset -> the tutor's audio
  silent at the client.
- Capacity: BENCH_VOICE_SESSIONS (10) calls at once, the client sending a tone, the tutor's track
  silence: CPU per call of the replica beside that of a bare aiortc endpoint (receive, decode,
  send a tone) and, when the `bench-pipecat` extra is installed (``.venv-pipecat``), of Pipecat's
  SmallWebRTC pipeline (bench/pipecat_peer.py) under the same clients, and receive gaps over
  60 ms at the clients.

    python -m bench voice
"""

from __future__ import annotations

import array
import asyncio
import io
import json
import math
import os
import statistics
import sys
import tempfile
import time
import wave
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psutil
from aiortc import RTCPeerConnection, RTCSessionDescription
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from app.tutor.sentences import SentenceSplitter
from app.voice.session import shorten_jitter_buffer
from tests.clients import Api, SocketClient
from tests.conftest import BASE_ENV
from tests.servers import RedisServer, Replica, free_port
from tests.stubs.openai_chat import _TOKEN, ChatProfile, OpenAIChatStub
from tests.stubs.server import BackgroundServer
from tests.stubs.transcription import TranscriptionStub
from tests.voice.peer import RATE, Microphone, TutorCall, poll, speech

KEY = "bench-key"
STT_DELAY = 0.10
TTS_FIRST_BYTE = 0.15
SILENCE = 0.4
RESULTS = Path(__file__).resolve().parent / "results"
PIPECAT_PEER = str(Path(__file__).resolve().parent / "pipecat_peer.py")
LOUD = 500  # sample amplitude that counts as speech in the WAV


class ToneTTS:
    """ElevenLabs' streaming endpoint, answering a 440 Hz tone (WAV) as long as the text would
    take to say, its first byte after 150 ms."""

    def __init__(self) -> None:
        route = Route("/v1/text-to-speech/{voice}/stream", self._speak, methods=["POST"])
        self._server = BackgroundServer(Starlette(routes=[route]))
        self.base_url = self._server.url

    async def _speak(self, request: Request) -> Response:
        text = str((await request.json()).get("text", ""))
        seconds = max(0.3, 0.06 * len(text))
        samples = array.array(
            "h",
            (
                int(4000 * math.sin(2 * math.pi * 440 * i / 16000))
                for i in range(int(16000 * seconds))
            ),
        )
        out = io.BytesIO()
        with wave.open(out, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16000)
            w.writeframes(samples.tobytes())
        body = out.getvalue()

        async def chunks() -> Any:
            await asyncio.sleep(TTS_FIRST_BYTE)
            yield body

        return StreamingResponse(
            chunks(), media_type="audio/mpeg", headers={"character-cost": str(len(text))}
        )

    def __enter__(self) -> ToneTTS:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()


def loud_span(pcm: bytes) -> tuple[float, float]:
    samples = array.array("h", pcm)
    loud = [i for i, s in enumerate(samples) if abs(s) > LOUD]
    return loud[0] / RATE, loud[-1] / RATE


def llm_floor(profile: ChatProfile) -> float:
    splitter = SentenceSplitter()
    for i, token in enumerate(_TOKEN.findall(profile.reply)):
        if splitter.feed(token):
            return profile.first_token_delay + i / (profile.tokens_per_second or 1e9)
    return profile.first_token_delay


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def histogram_mean(metrics: str, name: str) -> float | None:
    total = count = None
    for line in metrics.splitlines():
        if line.startswith(f"{name}_sum"):
            total = float(line.split()[-1])
        elif line.startswith(f"{name}_count"):
            count = float(line.split()[-1])
    return total / count if total is not None and count else None


async def member(replica: Replica) -> tuple[Api, SocketClient, str]:
    api = await Api.guest(replica.url, "Bench")
    room = await api.create_room()
    socket = await SocketClient(replica.url, api.token).connect()
    ack = await socket.call("join", {"room_id": room["room_id"]})
    assert ack["ok"], ack
    return api, socket, str(room["room_id"])


def _sent(call: TutorCall, turn: int) -> bool:
    return len(call.mic.started) > turn


def _heard_for(call: TutorCall, since: float, frames: int) -> bool:
    return len([t for t in call.voiced if t >= since]) >= frames


def _all_heard_after(calls: list[TutorCall], moment: float) -> bool:
    return all(c.voiced and c.voiced[-1] > moment for c in calls)


async def conversation(replica: Replica, turns: int, workdir: Path) -> dict[str, Any]:
    api, socket, room_id = await member(replica)
    call = TutorCall(socket, room_id)
    await call.start()
    # A browser's adaptive jitter buffer holds ~20-40 ms on a LAN, not aiortc's fixed 80 ms: the
    # client's buffer is not ours to count.
    shorten_jitter_buffer(call.pc)
    question = speech("what is the capital of france", workdir)
    onset, end = loud_span(question)
    v2v: list[float] = []
    barge: list[float] = []
    try:
        for turn in range(turns):
            call.mic.say(question)
            await poll(partial(_sent, call, turn), what="the question to be sent")
            start = call.mic.started[turn]
            if turn > 0:
                # The tutor was speaking when this question began: when did its voice stop?
                spoke_at = start + onset
                await call.silent_after(spoke_at, quiet=0.25, timeout=10)
                after = [t for t in call.voiced if t > spoke_at]
                stop = next(
                    (
                        t
                        for i, t in enumerate(after)
                        if i + 1 == len(after) or after[i + 1] - t > 0.2
                    ),
                    None,
                )
                if os.environ.get("BENCH_VOICE_DEBUG"):
                    near = [round(t - spoke_at, 3) for t in call.voiced if -1 < t - spoke_at < 1.5]
                    gaps = [
                        (near[i], round(near[i + 1] - near[i], 3))
                        for i in range(len(near) - 1)
                        if near[i + 1] - near[i] > 0.05
                    ]
                    print(
                        "turn",
                        turn,
                        "first",
                        near[:1],
                        "last",
                        near[-1:],
                        "gaps",
                        gaps,
                        "stop",
                        stop and stop - spoke_at,
                    )
                if stop is not None:
                    barge.append(stop - spoke_at)
            spoken_end = start + end
            first = await call.voice_after(spoken_end, timeout=20)
            v2v.append(first - spoken_end)
            # Half a second of the tutor's voice, then the next question.
            await poll(partial(_heard_for, call, first, 25), what="the tutor")
        metrics = (await api.request("GET", "/metrics")).text
    finally:
        await call.close()
        await socket.close()
    return {"v2v": v2v, "barge": barge, "metrics": metrics}


async def two_replicas(env: dict[str, str], turns: int, workdir: Path) -> list[float]:
    """Two people on two replicas (one Redis, one media directory): the one who asks (push to
    talk) and the other both hear the reply; how much later does the second hear it?"""
    redis = RedisServer().start()
    shared = {**env, "HOLO_REDIS_URL": redis.url}
    replicas = [Replica(name=f"bench-voice-pair-{i}", env=shared).start() for i in range(2)]
    calls: list[TutorCall] = []
    sockets: list[SocketClient] = []
    lags: list[float] = []
    try:
        api = await Api.guest(replicas[0].url, "Ann")
        room = await api.create_room()
        for i, replica in enumerate(replicas):
            guest = api if i == 0 else await Api.guest(replica.url, "Bob")
            socket = await SocketClient(replica.url, guest.token).connect()
            join = {"room_id": room["room_id"], "invite_token": room["invite_token"]}
            assert (await socket.call("join", join))["ok"]
            call = TutorCall(socket, room["room_id"])
            await call.start()
            shorten_jitter_buffer(call.pc)
            calls.append(call)
            sockets.append(socket)
        asking = await sockets[0].call("tutor-ask", {"room_id": room["room_id"], "active": True})
        assert asking["ok"]
        question = speech("what is the capital of france", workdir)
        for _ in range(turns):
            said = calls[0].mic.say(question)
            first = [await call.voice_after(said, timeout=20) for call in calls]
            lags.append(abs(first[1] - first[0]))
            await poll(partial(_all_heard_after, calls, said + 1), what="both listeners")
    finally:
        for call in calls:
            await call.close()
        for socket in sockets:
            await socket.close()
        for replica in replicas:
            replica.stop()
        redis.stop()
        redis.cleanup()
    return lags


class LoadClient:
    """A call that sends a tone and counts late frames on the tutor's (or the bare peer's)
    track."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection()
        self.mic = Microphone()
        self.pc.addTrack(self.mic)
        self.gaps: list[float] = []
        self.frames = 0
        self.pc.on("track", lambda track: asyncio.ensure_future(self._read(track)))
        tone = array.array(
            "h", (int(3000 * math.sin(2 * math.pi * 300 * i / RATE)) for i in range(RATE * 120))
        )
        self.mic.say(tone.tobytes())

    async def _read(self, track: Any) -> None:
        last = None
        while True:
            try:
                await track.recv()
            except Exception:
                return
            now = time.monotonic()
            if last is not None:
                self.gaps.append(now - last)
            last = now
            self.frames += 1

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        shorten_jitter_buffer(self.pc)


async def measure_load(pid: int, clients: list[LoadClient], window: float) -> dict[str, float]:
    process = psutil.Process(pid)
    await poll(lambda: min(c.frames for c in clients) >= 50, what="every call to flow")
    for c in clients:
        c.gaps.clear()
    before = process.cpu_times()
    started = time.monotonic()
    await asyncio.sleep(window)
    after = process.cpu_times()
    elapsed = time.monotonic() - started
    cpu = (after.user + after.system - before.user - before.system) / elapsed
    gaps = [g for c in clients for g in c.gaps]
    return {
        "cpu_per_call": cpu / len(clients),
        "late_frames": float(sum(1 for g in gaps if g > 0.06)),
        "frames": float(len(gaps)),
    }


async def capacity_voice(replica: Replica, sessions: int, window: float) -> dict[str, float]:
    clients, sockets = [], []
    try:
        for _ in range(sessions):
            _, socket, room_id = await member(replica)
            client = LoadClient()
            ack = await socket.call(
                "tutor-offer",
                {"room_id": room_id, "sdp": {"type": "offer", "sdp": await client.offer()}},
            )
            assert ack["ok"], ack
            await client.answer(ack["sdp"]["sdp"])
            clients.append(client)
            sockets.append(socket)
        assert replica.proc is not None
        return await measure_load(replica.proc.pid, clients, window)
    finally:
        for client in clients:
            await client.pc.close()
        for socket in sockets:
            await socket.close()


async def capacity_endpoint(
    command: list[str], sessions: int, window: float, what: str
) -> dict[str, float]:
    """CPU per call of a process serving ``POST /offer {"sdp"} -> {"sdp"}`` on the port given as
    its last argument, under the same clients as the replica."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(*command, str(port))
    clients = []
    try:
        await poll(lambda: _port_open(port), what=what, timeout=60)
        async with httpx.AsyncClient() as http:
            for _ in range(sessions):
                client = LoadClient()
                r = await http.post(
                    f"http://127.0.0.1:{port}/offer", json={"sdp": await client.offer()}, timeout=30
                )
                await client.answer(r.json()["sdp"])
                clients.append(client)
        return await measure_load(proc.pid, clients, window)
    finally:
        for client in clients:
            await client.pc.close()
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def capacity_bare(sessions: int, window: float) -> dict[str, float]:
    command = [sys.executable, "-m", "bench._bare_peer"]
    return await capacity_endpoint(command, sessions, window, "the bare aiortc endpoint")


def pipecat_python() -> str | None:
    """The interpreter with the `bench-pipecat` extra: BENCH_PIPECAT_PYTHON, else .venv-pipecat
    (its own venv, so pipecat's pins never move our runtime's), else ours if it has pipecat."""
    configured = os.environ.get("BENCH_PIPECAT_PYTHON")
    if configured:
        return configured
    venv = Path(__file__).resolve().parent.parent / ".venv-pipecat" / "bin" / "python"
    if venv.exists():
        return str(venv)
    import importlib.util

    return sys.executable if importlib.util.find_spec("pipecat") else None


async def capacity_pipecat(sessions: int, window: float) -> dict[str, float] | None:
    python = pipecat_python()
    if python is None:
        return None
    return await capacity_endpoint([python, PIPECAT_PEER], sessions, window, "the Pipecat endpoint")


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


async def run() -> dict[str, Any]:
    turns = int(os.environ.get("BENCH_VOICE_TURNS", "20"))
    sessions = int(os.environ.get("BENCH_VOICE_SESSIONS", "10"))
    window = float(os.environ.get("BENCH_VOICE_WINDOW", "10"))
    profile = ChatProfile.benchmark()
    with (
        OpenAIChatStub(api_key=KEY, profile=profile) as chat,
        TranscriptionStub(api_key=KEY) as stt,
        ToneTTS() as tts,
        tempfile.TemporaryDirectory() as tmp,
    ):
        stt.delay = STT_DELAY
        env = {
            **BASE_ENV,
            "HOLO_STUN_URLS": "",
            "HOLO_LOG_LEVEL": "WARNING",
            "HOLO_MEDIA_DIR": tmp,
            "HOLO_VOICE_MAX_SESSIONS": str(sessions + 5),
            "HOLO_VOICE_SILENCE_SECONDS": str(SILENCE),
            "HOLO_LLM_API_KEY": KEY,
            "HOLO_LLM_BASE_URL": chat.base_url,
            "HOLO_TTS_PROVIDER": "elevenlabs",
            "HOLO_ELEVENLABS_API_KEY": KEY,
            "HOLO_ELEVENLABS_BASE_URL": tts.base_url,
            "HOLO_STT_PROVIDER": "openai",
            "HOLO_STT_API_KEY": KEY,
            "HOLO_STT_BASE_URL": stt.base_url,
            "HOLO_TTS_CHAR_BUDGET": "0",
            "HOLO_LLM_TOKEN_BUDGET": "0",
            "HOLO_STT_SECONDS_BUDGET": "0",
        }
        replica = Replica(name="bench-voice", env=env).start()
        try:
            talk = await conversation(replica, turns, Path(tmp))
            pair_lags = await two_replicas(env, max(4, turns // 3), Path(tmp))
            voice_load = await capacity_voice(replica, sessions, window)
        finally:
            replica.stop()
    bare_load = await capacity_bare(sessions, window)
    pipecat_load = await capacity_pipecat(sessions, window)
    floor = SILENCE + STT_DELAY + llm_floor(profile) + TTS_FIRST_BYTE
    metrics = talk["metrics"]
    return {
        "turns": turns,
        "v2v_p50": statistics.median(talk["v2v"]),
        "v2v_p95": pct(talk["v2v"], 0.95),
        "floor": floor,
        "overhead_p50": statistics.median(talk["v2v"]) - floor,
        "breakdown_mean": {
            "server_end_of_utterance_to_first_frame": histogram_mean(
                metrics, "holo_voice_first_audio_seconds"
            ),
            "end_of_utterance_to_text": histogram_mean(metrics, "holo_stt_final_seconds"),
            "llm_first_token": histogram_mean(metrics, "holo_llm_ttft_seconds"),
            "tts_first_byte": histogram_mean(metrics, "holo_tts_ttfb_seconds"),
            "message_to_first_clip_stored": histogram_mean(
                metrics, "holo_reply_first_audio_seconds"
            ),
        },
        "barge_in_p50": statistics.median(talk["barge"]) if talk["barge"] else None,
        "barge_in_p95": pct(talk["barge"], 0.95) if talk["barge"] else None,
        "barge_in_samples": len(talk["barge"]),
        "barge_in_all": talk["barge"],
        "two_replicas_lag_p50": statistics.median(pair_lags),
        "two_replicas_lag_max": max(pair_lags),
        "sessions": sessions,
        "voice": voice_load,
        "bare": bare_load,
        "voice_calls_per_core": 1 / voice_load["cpu_per_call"],
        "bare_calls_per_core": 1 / bare_load["cpu_per_call"],
        "pipecat": pipecat_load,
        "pipecat_calls_per_core": 1 / pipecat_load["cpu_per_call"] if pipecat_load else None,
    }


def report(r: dict[str, Any]) -> None:
    ms = 1000
    print(
        f"voice to voice over {r['turns']} turns (end of speech -> first tutor audio at the client)"
    )
    print(f"  p50 {r['v2v_p50'] * ms:.0f} ms   p95 {r['v2v_p95'] * ms:.0f} ms")
    print(
        f"  floor {r['floor'] * ms:.0f} ms (silence window {SILENCE * ms:.0f} + STT stub "
        f"{STT_DELAY * ms:.0f} + LLM stub to the first sentence + TTS first byte "
        f"{TTS_FIRST_BYTE * ms:.0f})"
    )
    print(f"  our overhead p50 {r['overhead_p50'] * ms:.0f} ms (goal <= 100 ms)")
    for name, value in r["breakdown_mean"].items():
        if value is not None:
            print(f"    server mean {name}: {value * ms:.0f} ms")
    if r["barge_in_p50"] is not None:
        print(
            f"barge-in (speech onset -> tutor silent at the client), {r['barge_in_samples']} "
            f"samples: p50 {r['barge_in_p50'] * ms:.0f} ms   p95 {r['barge_in_p95'] * ms:.0f} ms "
            "(goal p50 <= 250 ms)"
        )
    print(
        "two people on two replicas: the second hears the reply "
        f"{r['two_replicas_lag_p50'] * ms:.0f} ms after the first (p50), "
        f"{r['two_replicas_lag_max'] * ms:.0f} ms at most (goal <= 300 ms)"
    )
    v, b = r["voice"], r["bare"]
    print(f"capacity, {r['sessions']} calls at once (same clients, same run)")
    print(
        f"  tutor replica: {v['cpu_per_call'] * 100:.1f}% of a core per call -> "
        f"{r['voice_calls_per_core']:.1f} calls/core; "
        f"late frames {v['late_frames']:.0f}/{v['frames']:.0f}"
    )
    print(
        f"  bare aiortc:   {b['cpu_per_call'] * 100:.1f}% of a core per call -> "
        f"{r['bare_calls_per_core']:.1f} calls/core; "
        f"late frames {b['late_frames']:.0f}/{b['frames']:.0f}"
    )
    p = r["pipecat"]
    if p is None:
        print(
            "  pipecat: skipped (no .venv-pipecat and no pipecat here: "
            "make .venv-pipecat/.bench-pipecat)"
        )
    else:
        print(
            f"  pipecat:       {p['cpu_per_call'] * 100:.1f}% of a core per call -> "
            f"{r['pipecat_calls_per_core']:.1f} calls/core; "
            f"late frames {p['late_frames']:.0f}/{p['frames']:.0f}"
        )
    print(f"  ratio tutor/bare CPU per call: {v['cpu_per_call'] / b['cpu_per_call']:.2f}")
    if p is not None:
        print(
            f"  ratio tutor/pipecat CPU per call: {v['cpu_per_call'] / p['cpu_per_call']:.2f}; "
            f"pipecat/bare: {p['cpu_per_call'] / b['cpu_per_call']:.2f}"
        )


async def main() -> None:
    result = await run()
    report(result)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "voice.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
