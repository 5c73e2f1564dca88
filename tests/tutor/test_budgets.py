"""Usage counted per provider and model (Redis, per day and month; Prometheus), and the monthly
budgets: voice off near the TTS limit (text goes on, the room is told), a clear message at the
LLM limit."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from redis import asyncio as aioredis

from app.store import keys
from app.tutor.reply import LLM_BUDGET_TEXT
from app.tutor.usage import LLM_TOTAL, TTS_TOTAL, periods
from tests.clients import SocketClient
from tests.conftest import BASE_ENV
from tests.servers import RedisServer, Replica
from tests.stubs.elevenlabs import ElevenLabsStub
from tests.stubs.openai_chat import DEFAULT_REPLY, OpenAIChatStub
from tests.tutor.conftest import tutor_env
from tests.tutor.room import TutorRoom, open_room, reply_done

TTS_BUDGET = 1000
LLM_BUDGET = 50_000
MODEL = "stub/tutor-model"


@pytest.fixture(scope="module")
def budget_redis() -> Iterator[RedisServer]:
    server = RedisServer().start()  # its own: the usage counters are global
    yield server
    server.cleanup()


@pytest.fixture(scope="module")
def budget_replica(
    budget_redis: RedisServer,
    tutor_chat: OpenAIChatStub,
    tutor_voice: ElevenLabsStub,
    s3_endpoint: str,
) -> Iterator[Replica]:
    env = {
        **BASE_ENV,
        "HOLO_REDIS_URL": budget_redis.url,
        **tutor_env(
            tutor_chat,
            tutor_voice,
            s3_endpoint,
            tts_char_budget=str(TTS_BUDGET),
            llm_token_budget=str(LLM_BUDGET),
        ),
    }
    replica = Replica(name="budgets", env=env).start()
    yield replica
    replica.stop()


@pytest.fixture
async def usage_redis(budget_redis: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(budget_redis.url, decode_responses=True)
    for key in await client.keys(keys.usage("*")):
        await client.delete(key)
    yield client
    await client.aclose()


@pytest.fixture
async def room(
    budget_replica: Replica,
    usage_redis: aioredis.Redis,
    chat: OpenAIChatStub,
    voice: ElevenLabsStub,
    sockets: Callable[..., SocketClient],
) -> TutorRoom:
    """A learner alone with the tutor on the budgets replica, usage counters at zero."""
    return await open_room(sockets, budget_replica.url)


def this_period() -> tuple[str, str]:
    return periods(time.time())


def metric(exposition: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in exposition.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and ",".join(sorted(match[1].split(","))) == want:
            return float(match[2])
    return 0.0


async def test_usage_is_counted_per_provider_model_day_and_month(
    budget_replica: Replica, room: TutorRoom, usage_redis: aioredis.Redis
) -> None:
    await room.say("What is a fraction?", "q1")
    events = await reply_done(room.learner)
    assert len(events.audio) == 5

    spoken = sum(len(a["text"]) for a in events.audio)
    completion = len(DEFAULT_REPLY.split())
    for period in this_period():
        usage = await usage_redis.hgetall(keys.usage(period))
        prompt = int(usage[f"llm:openai_compatible:{MODEL}:prompt"])
        assert prompt > 0
        assert int(usage[f"llm:openai_compatible:{MODEL}:completion"]) == completion
        assert int(usage[LLM_TOTAL]) == prompt + completion
        assert int(usage["tts:elevenlabs:characters"]) == spoken
        assert int(usage["tts:elevenlabs:billed"]) == int(usage[TTS_TOTAL]) == spoken

    async with httpx.AsyncClient() as http:
        text = (await http.get(f"{budget_replica.url}/metrics")).text
    assert metric(text, "holo_llm_tokens_total", model=MODEL, kind="completion") >= completion
    assert metric(text, "holo_tts_characters_total", provider="elevenlabs") >= spoken
    for histogram in ("llm_ttft", "tts_ttfb", "reply_first_audio"):
        count = re.search(rf"^holo_{histogram}_seconds_count (\S+)$", text, re.M)
        assert count is not None and float(count[1]) >= 1, histogram


async def test_voice_turns_off_near_the_tts_budget_and_text_goes_on(
    room: TutorRoom, usage_redis: aioredis.Redis, voice: ElevenLabsStub
) -> None:
    # 95% of the budget is the cutoff: 10 characters are left, less than any sentence.
    await usage_redis.hset(keys.usage(this_period()[0]), TTS_TOTAL, int(TTS_BUDGET * 0.95) - 10)
    await room.say("What is a fraction?", "q1")
    events = await reply_done(room.learner)
    assert events.message["text"] == DEFAULT_REPLY
    assert [n["code"] for n in events.notices] == ["voice_budget"]
    assert not events.audio and not voice.requests
    assert events.message["metadata"]["voice_off"] == "voice_budget"

    # The room was told once; later replies stay text without repeating it.
    await room.say("And a decimal?", "q2")
    again = await reply_done(room.learner)
    assert again.message["text"] == DEFAULT_REPLY and not again.notices and not again.audio


async def test_at_the_llm_budget_the_learner_gets_a_clear_message(
    room: TutorRoom, usage_redis: aioredis.Redis, chat: OpenAIChatStub, voice: ElevenLabsStub
) -> None:
    await usage_redis.hset(keys.usage(this_period()[0]), LLM_TOTAL, LLM_BUDGET)
    await room.say("What is a fraction?", "q1")
    events = await reply_done(room.learner)
    assert events.message["text"] == LLM_BUDGET_TEXT
    assert events.message["metadata"] == {"budget": "llm"}
    assert [n["code"] for n in events.notices] == ["llm_budget"]
    assert not chat.requests and not voice.requests
