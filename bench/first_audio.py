"""Time to first audio: a learner message -> the first ``ai-audio`` URL ready, streamed pipeline
against the original sequential one (whole reply -> whole TTS -> upload), same stubs, same run.

The reference profile (issue 3): LLM first token after 300 ms then 40 tokens/s; TTS first byte
after 250 ms, streaming at 0.1x real time; storage 30 ms. Ours runs the real tutor in process:
the job queue and the stores on the embedded Redis (fakeredis), the providers over loopback HTTP
to the stand-ins, storage a local directory behind the 30 ms latency. "Minimum" is what the
stubs alone impose on each pipeline for this reply; overhead is the median above it.

    python -m bench.first_audio        (BENCH_FIRST_AUDIO_RUNS, default 20 of each)
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from app.catalogue import Catalogue
from app.config import Settings, TTSProvider
from app.models import Sender
from app.observability.metrics import Metrics
from app.providers.llm import TextDelta
from app.providers.llm.factory import build_llm
from app.providers.storage.local import LocalStorage
from app.providers.tts.factory import build_tts
from app.store.messages import MessageStore
from app.store.redis import create_redis
from app.store.rooms import RoomStore
from app.tutor.jobs import ReplyJobs
from app.tutor.reply import ReplyConfig, ReplyDeps
from app.tutor.sentences import SentenceSplitter
from app.tutor.service import Tutor
from app.tutor.usage import Budget, UsageStore
from tests.stubs.elevenlabs import ElevenLabsStub, VoiceProfile
from tests.stubs.mp3 import frame_seconds, silent_mp3
from tests.stubs.openai_chat import DEFAULT_REPLY, ChatProfile, OpenAIChatStub
from tests.stubs.slow_storage import SlowStorage

KEY = "bench-key"
STORAGE_LATENCY = 0.03
RESULTS = Path(__file__).resolve().parent / "results"


class AudioClock:
    """Stands in for the Socket.IO server: notes when each room's first ai-audio goes out."""

    def __init__(self) -> None:
        self.first_audio: dict[str, asyncio.Future[float]] = {}
        self.done: dict[str, asyncio.Future[None]] = {}

    def expect(self, room_id: str) -> None:
        loop = asyncio.get_running_loop()
        self.first_audio[room_id] = loop.create_future()
        self.done[room_id] = loop.create_future()

    async def emit(
        self,
        event: str,
        data: Any = None,
        *,
        to: str | None = None,
        room: str | None = None,
        skip_sid: str | None = None,
        ignore_queue: bool = False,
    ) -> None:
        assert room is not None
        if event == "ai-audio" and not self.first_audio[room].done():
            self.first_audio[room].set_result(time.monotonic())
        elif event == "ai-done":
            self.done[room].set_result(None)
        elif event in ("ai-error", "notice"):
            raise RuntimeError(f"bench reply failed: {event} {data}")


def stub_minimum(text: str, voice: VoiceProfile, chat: ChatProfile) -> float:
    """What the stand-ins alone take to produce ``text``'s last token, then its whole audio,
    then storing it (the stubs' own schedules, see tests/stubs)."""
    assert chat.tokens_per_second and voice.realtime_factor
    tokens = len(re.findall(r"\S+\s*", text))
    llm = chat.first_token_delay + (tokens - 1) / chat.tokens_per_second
    audio = silent_mp3(len(text) * voice.seconds_per_character)
    frames_per_chunk = max(1, round(voice.chunk_seconds / frame_seconds()))
    chunk_bytes = len(silent_mp3(0)) * frames_per_chunk
    chunks = math.ceil(len(audio) / chunk_bytes)
    tts = voice.first_byte_delay + (chunks - 1) * frames_per_chunk * frame_seconds() * (
        voice.realtime_factor
    )
    return llm + tts + STORAGE_LATENCY


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


async def measure(runs: int) -> dict[str, Any]:
    chat_profile, voice_profile = ChatProfile.benchmark(), VoiceProfile.benchmark()
    with (
        OpenAIChatStub(api_key=KEY, profile=chat_profile) as chat,
        ElevenLabsStub(api_key=KEY, profile=voice_profile) as voice,
        tempfile.TemporaryDirectory() as media,
    ):
        async with httpx.AsyncClient() as http:
            settings = Settings()
            redis = create_redis(settings)
            metrics = Metrics()
            clock = AudioClock()
            llm = build_llm(http, base_url=chat.base_url, model="bench-model", api_key=KEY)
            tts = build_tts(
                Settings(
                    tts_provider=TTSProvider.ELEVENLABS,
                    elevenlabs_api_key=SecretStr(KEY),
                    elevenlabs_base_url=voice.base_url,
                ),
                http,
            )
            storage = SlowStorage(
                LocalStorage(media, secret=settings.media_signing_key), latency=STORAGE_LATENCY
            )
            deps = ReplyDeps(
                config=ReplyConfig(),
                emitter=clock,
                rooms=RoomStore(redis),
                messages=MessageStore(redis),
                usage=UsageStore(redis, metrics),
                budget=Budget(llm_tokens=0, tts_characters=0),
                metrics=metrics,
                llm=llm,
                tts=tts,
                storage=storage,
            )
            rooms = RoomStore(redis)
            tutor = Tutor(
                deps,
                jobs=ReplyJobs(redis, consumer="bench", claim_timeout=10),
                rooms=rooms,
                catalogue=Catalogue.load(),
                max_replies=4,
                claim_timeout=10,
            )
            worker = asyncio.create_task(tutor.run())
            learner = Sender(kind="user", user_id="bench-user", display_name="Learner")

            async def ours() -> float:
                room = (await rooms.create("bench-user", "ada-math")).room
                clock.expect(room.room_id)
                started = time.monotonic()
                message, _ = await deps.messages.append(
                    room.room_id, learner, "How do I solve 2x + 3 = 7?"
                )
                await tutor.on_learner_message(room.room_id, message)
                first = await clock.first_audio[room.room_id]
                await clock.done[room.room_id]  # one reply at a time, as in the baseline
                return first - started

            async def sequential() -> float:
                started = time.monotonic()
                parts = [e.text async for e in llm.stream([]) if isinstance(e, TextDelta)]
                async with tts.synthesize("".join(parts).strip(), "voice") as speech:
                    audio = await speech.read()
                await storage.put(f"seq/{started}.mp3".replace(".", "-", 1), audio, "audio/mpeg")
                return time.monotonic() - started

            await ours()  # warm-up: connections, the consumer group, imports
            await sequential()
            timings: dict[str, list[float]] = {"streamed": [], "sequential": []}
            for _ in range(runs):  # interleaved, so drift hits both alike
                timings["streamed"].append(await ours())
                timings["sequential"].append(await sequential())
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
            await redis.aclose()

    first_sentence = SentenceSplitter().feed(DEFAULT_REPLY)[0]
    minimum = {
        "streamed": stub_minimum(first_sentence, voice_profile, chat_profile),
        "sequential": stub_minimum(DEFAULT_REPLY.strip(), voice_profile, chat_profile),
    }
    summary = {
        name: {
            "p50": statistics.median(values),
            "p95": percentile(values, 95),
            "min": min(values),
            "stub_minimum": minimum[name],
            "overhead_p50": statistics.median(values) - minimum[name],
        }
        for name, values in timings.items()
    }
    return {"runs": runs, "first_sentence": first_sentence, "summary": summary, "timings": timings}


def main() -> None:
    runs = int(os.environ.get("BENCH_FIRST_AUDIO_RUNS", "20"))
    result = asyncio.run(measure(runs))
    s = result["summary"]
    print(
        f"time to first audio, {runs} runs each (LLM 300 ms + 40 tok/s, TTS 250 ms at 0.1x, "
        f"storage 30 ms); first sentence {result['first_sentence']!r}"
    )
    print(
        f"{'pipeline':<12} {'p50 ms':>8} {'p95 ms':>8} {'stub min ms':>12} {'overhead p50 ms':>16}"
    )
    for name in ("streamed", "sequential"):
        row = s[name]
        print(
            f"{name:<12} {row['p50'] * 1000:8.0f} {row['p95'] * 1000:8.0f} "
            f"{row['stub_minimum'] * 1000:12.0f} {row['overhead_p50'] * 1000:16.0f}"
        )
    ratio = s["sequential"]["p50"] / s["streamed"]["p50"]
    ratio95 = s["sequential"]["p95"] / s["streamed"]["p95"]
    print(f"sequential / streamed: {ratio:.2f}x at p50, {ratio95:.2f}x at p95")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"first_audio-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps({**result, "ratio_p50": ratio, "ratio_p95": ratio95}, indent=2))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
