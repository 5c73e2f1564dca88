"""The offline tutor: deterministic, honest about being offline, and still a tutor."""

from __future__ import annotations

from app.providers.llm.base import ChatMessage, LLMEvent, Persona, TextDelta, UsageReport
from app.providers.llm.factory import build_llm
from app.providers.llm.offline import OfflineTutorLLM, compose_reply
from app.providers.llm.openai_compatible import OpenAICompatibleLLM

ADA = Persona(name="Ada", subject="mathematics", level="secondary")


def conversation(text: str) -> list[ChatMessage]:
    return [
        ChatMessage(role="system", content="You are Ada."),
        ChatMessage(role="user", content="Earlier question"),
        ChatMessage(role="assistant", content="Earlier answer"),
        ChatMessage(role="user", content=text),
    ]


async def reply(text: str, persona: Persona | None = ADA) -> list[LLMEvent]:
    llm = OfflineTutorLLM(chunk_delay=0)
    return [e async for e in llm.stream(conversation(text), persona=persona)]


async def test_same_input_same_reply() -> None:
    first = await reply("How do I solve 2x + 3 = 7?")
    second = await reply("How do I solve 2x + 3 = 7?")
    assert [e for e in first if isinstance(e, TextDelta)] == [
        e for e in second if isinstance(e, TextDelta)
    ]


async def test_every_event_is_marked_offline() -> None:
    events = await reply("What is a prime number?")
    deltas = [e for e in events if isinstance(e, TextDelta)]
    usage = events[-1]
    assert len(deltas) > 5  # streamed in small chunks, not one block
    assert all(d.offline for d in deltas)
    assert isinstance(usage, UsageReport)
    assert usage.offline and usage.estimated and usage.model == "offline-tutor"
    assert usage.completion_tokens > 0


async def test_reads_like_a_tutor_and_says_it_is_offline() -> None:
    text = compose_reply(ADA, "How do I solve 2x + 3 = 7?")
    assert "Ada" in text and "offline" in text
    assert "2x + 3 = 7" in text  # it engages with the learner's message
    assert text.rstrip().endswith("?")  # it ends on a guiding question
    assert "x = 2" not in text  # and never hands out the answer


async def test_answers_the_latest_learner_message() -> None:
    events = await reply("Explain photosynthesis")
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == compose_reply(ADA, "Explain photosynthesis")


def test_different_messages_and_personas_vary() -> None:
    replies = {compose_reply(ADA, f"Question number {i}?") for i in range(12)}
    assert len(replies) > 3
    lucas = Persona(name="Lucas", subject="physics")
    assert "Lucas" in compose_reply(lucas, "Why is the sky blue?")
    assert "Hi, I'm Ada" in compose_reply(ADA, "   ")
    assert "your tutor" in compose_reply(None, "Help?")


def test_factory_picks_offline_without_a_key() -> None:
    import httpx

    client = httpx.AsyncClient()
    offline = build_llm(client, base_url="https://openrouter.ai/api/v1", model="m", api_key=None)
    online = build_llm(client, base_url="https://openrouter.ai/api/v1", model="m", api_key="k")
    assert isinstance(offline, OfflineTutorLLM) and offline.offline
    assert isinstance(online, OpenAICompatibleLLM) and not online.offline
