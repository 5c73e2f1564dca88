"""A tutor that remembers: the summary of a session reaches the next session with the same
companion (two replicas, real Redis, moto's S3, the LLM stand-in recording every prompt)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis import asyncio as aioredis

from app.config import Settings
from app.models import Sender
from app.observability.metrics import Metrics
from app.providers.llm import LLMTimeouts, UsageReport
from app.providers.llm.factory import build_llm
from app.providers.retry import RetryPolicy
from app.providers.tts.none import NoTTS
from app.store import keys
from app.store.messages import MessageStore
from app.store.redis import Redis, create_redis
from app.store.rooms import RoomStore
from app.store.sessions import SessionStore
from app.store.summaries import SummaryStore
from app.tutor.reply import ReplyConfig, ReplyDeps
from app.tutor.summaries import LABELS, Summarizer, SummaryJobs
from app.tutor.usage import Budget, UsageStore
from tests.clients import Api, SocketClient
from tests.conftest import CHAT_KEY
from tests.servers import RedisServer, Replica
from tests.stubs.openai_chat import OpenAIChatStub
from tests.tutor.engines import MemoryStorage, NoEmitter
from tests.tutor.memory_steps import (
    session_with,
    summaries_from_stub,
    summarized,
    summary_requests,
)

Cluster = tuple[Replica, Replica]
Sockets = Callable[..., SocketClient]


def system_of(request: object) -> str:
    return str(request.json["messages"][0]["content"])  # type: ignore[attr-defined]


async def test_the_next_session_with_the_same_companion_picks_up_where_it_left_off(
    tutor_cluster: Cluster, tutor_redis: RedisServer, sockets: Sockets, chat: OpenAIChatStub
) -> None:
    a, b = tutor_cluster
    summaries_from_stub(chat)
    api = await Api.guest(a.url, "Ann")
    _, record = await session_with(sockets, api, a.url, "ada-math", "How do I solve 2x + 3 = 7?")
    assert "summary" not in record  # ending did not wait for the model

    summary = (await summarized(api, record["session_id"]))["summary"]
    assert summary["status"] == "ready" and summary["source"] == "llm"
    assert summary["topics"] == ["solving linear equations", "the balance method"]
    assert summary["practise_next"] == "equations with x on both sides."
    # The model read the conversation with roles, not names; and the summary is in history.
    # (Filtered: replicas of other test modules may share the stand-in.)
    [asked] = [r for r in summary_requests(chat) if "2x + 3" in str(r.json["messages"])]
    assert "Learner: How do I solve 2x + 3 = 7?" in asked.json["messages"][1]["content"]
    assert "Ann" not in asked.json["messages"][1]["content"]
    listed = (await api.request("GET", "/api/sessions")).json()["sessions"]
    assert listed[0]["summary"]["topics"] == summary["topics"]

    # The job delivered again (as after a replica died holding it): the replicas take it and
    # write nothing more, and the model is not asked again.
    async with aioredis.from_url(tutor_redis.url, decode_responses=True) as redis:
        await redis.xadd(keys.summary_jobs(), {"session_id": record["session_id"]})
        await settled(redis)
    assert [r for r in summary_requests(chat) if "2x + 3" in str(r.json["messages"])] == [asked]
    again = await summarized(api, record["session_id"])
    assert again["summary"] == summary

    # Same companion, on the other replica: greeted where they left off, and the model knows.
    chat.requests.clear()
    joined, _ = await session_with(sockets, api, b.url, "ada-math", "Can we continue?")
    [greeting] = joined["messages"]
    assert greeting["sender"]["kind"] == "ai" and greeting["metadata"]["greeting"] is True
    assert greeting["text"].startswith("Welcome back, Ann! Last time we worked on solving linear")
    replies = [r for r in chat.requests if "You tutor mathematics" in system_of(r)]
    assert "the balance method" in system_of(replies[0])
    assert "equations with x on both sides" in system_of(replies[0])

    # Another companion: nothing from Ada's sessions.
    chat.requests.clear()
    joined, _ = await session_with(sockets, api, a.url, "lucas-physics", "What is a force?")
    assert joined["messages"] == []
    replies = [r for r in chat.requests if "You tutor physics" in system_of(r)]
    assert replies and "balance method" not in system_of(replies[0])

    # Memory off: the same companion starts from nothing again.
    r = await api.request(
        "PUT", "/api/me", json={"display_name": "Ann", "memory": False, "goals": "Pass algebra"}
    )
    assert r.status_code == 200, r.text
    chat.requests.clear()
    joined, last = await session_with(sockets, api, b.url, "ada-math", "Hello again")
    assert joined["messages"] == []
    replies = [r for r in chat.requests if "You tutor mathematics" in system_of(r)]
    assert replies and "balance method" not in system_of(replies[0])
    assert "Pass algebra" in system_of(replies[0])  # the profile is still what they told us

    # Progress counts the sessions per companion and subject, with the summaries' topics.
    await summarized(api, last["session_id"])
    progress = (await api.request("GET", "/api/me/progress")).json()
    by_id = {c["companion_id"]: c for c in progress["companions"]}
    assert by_id.keys() == {"ada-math", "lucas-physics"}
    ada = by_id["ada-math"]
    assert (ada["subject"], ada["sessions"], ada["messages"]) == ("mathematics", 3, 3)
    assert {"topic": "the balance method", "sessions": 3} in ada["topics"]
    subjects = {p["subject"]: p["sessions"] for p in progress["subjects"]}
    assert subjects == {"mathematics": 3, "physics": 1}
    assert progress["weekly_streak"] == 1

    # Operators see it: returning learners and summaries written (summed over both replicas).
    assert await counter(tutor_cluster, "holo_returning_learners_total") >= 2
    assert await counter(tutor_cluster, "holo_summaries_total", status="ready") >= 4
    assert await counter(tutor_cluster, "holo_session_duration_seconds_count") >= 4


async def settled(redis: Redis, timeout: float = 10) -> None:
    """Until every summary job was delivered and acknowledged (nothing announces it: poll)."""
    deadline = time.monotonic() + timeout
    while True:
        [group] = await redis.xinfo_groups(keys.summary_jobs())
        if group["lag"] == 0 and group["pending"] == 0:
            return
        assert time.monotonic() < deadline, group
        await asyncio.sleep(0.05)


async def counter(cluster: Cluster, name: str, **labels: str) -> float:
    total = 0.0
    async with httpx.AsyncClient() as http:
        for replica in cluster:
            text = (await http.get(f"{replica.url}/metrics")).text
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    if sample.name == name and labels.items() <= sample.labels.items():
                        total += sample.value
    return total


@pytest.fixture
async def real_redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = create_redis(Settings(redis_url=redis_server.url))
    yield client
    await client.aclose()


def summarizer(
    redis: Redis, http: httpx.AsyncClient, chat: OpenAIChatStub, name: str
) -> Summarizer:
    metrics = Metrics()
    llm = build_llm(
        http,
        base_url=chat.base_url,
        model="stub/summaries",
        api_key=CHAT_KEY,
        timeouts=LLMTimeouts(first_token=5),
        retry=RetryPolicy(attempts=1),
    )
    deps = ReplyDeps(
        config=ReplyConfig(),
        emitter=NoEmitter(),
        rooms=RoomStore(redis),
        messages=MessageStore(redis),
        usage=UsageStore(redis, metrics),
        budget=Budget(llm_tokens=0, tts_characters=0),
        metrics=metrics,
        llm=llm,
        tts=NoTTS(),
        storage=MemoryStorage(),
    )
    return Summarizer(
        deps,
        jobs=SummaryJobs(redis, consumer=name),
        sessions=SessionStore(redis),
        summaries=SummaryStore(redis),
        max_tokens=200,
        context_tokens=3000,
    )


async def ended_session(redis: Redis, user_id: str) -> str:
    rooms = RoomStore(redis)
    room = (await rooms.create(user_id, "ada-math")).room
    ann = Sender(kind="user", user_id=user_id, display_name="Ann")
    await MessageStore(redis).append(room.room_id, ann, "What is a prime number?")
    result = await SessionStore(redis).end_room(room, [user_id])
    assert result.session is not None
    return result.session.session_id


async def test_two_replicas_taking_the_same_summary_write_it_once(
    real_redis: Redis, chat: OpenAIChatStub
) -> None:
    summaries_from_stub(chat)
    chat.profile.first_token_delay = 0.3  # both are at work on it at the same time
    user_id = f"ann-{uuid.uuid4()}"
    session_id = await ended_session(real_redis, user_id)
    async with httpx.AsyncClient() as http:
        one, two = (summarizer(real_redis, http, chat, n) for n in ("replica-a", "replica-b"))
        outcomes = await asyncio.gather(one.summarize(session_id), two.summarize(session_id))
        # The one that had to wait finds the summary there once the other wrote it.
        assert sorted(outcomes, key=str) == [None, True]
        assert await two.summarize(session_id) is False and await one.summarize(session_id) is False
    assert len(summary_requests(chat)) == 1
    stored = await SummaryStore(real_redis).get(session_id)
    assert stored is not None and stored.topics[0] == "solving linear equations"
    progress = await SummaryStore(real_redis).progress(user_id)
    assert progress.companions["ada-math"].sessions == 1  # counted once


async def test_with_the_budget_used_up_there_is_no_summary_and_the_record_says_so(
    real_redis: Redis, chat: OpenAIChatStub
) -> None:
    session_id = await ended_session(real_redis, f"ann-{uuid.uuid4()}")
    async with httpx.AsyncClient() as http:
        worker = summarizer(real_redis, http, chat, "replica-a")
        worker.deps.budget = Budget(llm_tokens=1, tts_characters=0)
        await worker.deps.usage.record_llm(
            UsageReport(
                provider="stub", model="m", prompt_tokens=5, completion_tokens=0, duration_seconds=0
            )
        )
        assert await worker.summarize(session_id) is True
    assert summary_requests(chat) == []
    stored = await SummaryStore(real_redis).get(session_id)
    assert stored is not None and stored.status == "skipped" and stored.reason == "llm_budget"
    assert stored.label == LABELS["llm_budget"]
