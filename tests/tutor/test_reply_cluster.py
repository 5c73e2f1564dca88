"""A reply across two replicas: the learner on A, a second participant on B (real Redis, moto's
S3, the LLM and ElevenLabs stand-ins)."""

from __future__ import annotations

import io
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
import pytest
from mutagen.mp3 import MP3

from app.tutor.reply import ERROR_MESSAGES
from tests.clients import SocketClient
from tests.servers import Replica
from tests.stubs.elevenlabs import ElevenLabsStub
from tests.stubs.openai_chat import DEFAULT_REPLY, OpenAIChatStub
from tests.tutor.room import TutorRoom, open_room, reply_done, reply_failed

Cluster = tuple[Replica, Replica]
Sockets = Callable[..., SocketClient]


async def both(cluster: Cluster, sockets: Sockets) -> TutorRoom:
    a, b = cluster
    return await open_room(sockets, a.url, b.url)


async def test_both_participants_get_the_streamed_voiced_reply(
    tutor_cluster: Cluster, sockets: Sockets, chat: OpenAIChatStub, voice: ElevenLabsStub
) -> None:
    room = await both(tutor_cluster, sockets)
    asked = await room.say("How do I solve 2x + 3 = 7?", "q1")

    seen = [await reply_done(sock) for sock in room.sockets]
    for events in seen:
        message = events.message
        assert events.text == DEFAULT_REPLY == message["text"]
        assert message["sender"]["kind"] == "ai" and message["reply_to"] == asked["id"]
        assert message["metadata"]["offline"] is False
        assert len(events.deltas) < len(DEFAULT_REPLY.split())  # batched, not one per token
        assert events.done is not None
        assert {d["reply_id"] for d in events.deltas} == {events.done["reply_id"]}
        assert [a["seq"] for a in events.audio] == list(range(len(events.audio)))
        assert [a["url"] for a in events.audio] == message["audio_urls"]
        assert " ".join(a["text"] for a in events.audio) == DEFAULT_REPLY.strip()
    assert seen[0].audio == seen[1].audio
    assert len(seen[0].audio) == 5  # one clip per sentence

    # Each clip downloads as MP3, and is the audio synthesized for its sentence.
    async with httpx.AsyncClient(timeout=10) as http:
        for clip in seen[0].audio:
            r = await http.get(clip["url"])
            assert r.status_code == 200
            assert r.headers["content-type"] == "audio/mpeg"
            assert MP3(io.BytesIO(r.content)).info.length > 0
            assert r.content == ElevenLabsStub.audio_for(clip["text"])

    # The prompt: persona and tutoring policy, then the learner's message.
    sent = chat.requests[-1].json["messages"]
    assert isinstance(sent, list) and sent[0]["role"] == "system"
    assert "Ada" in sent[0]["content"] and "hints" in sent[0]["content"]
    assert sent[-1] == {"role": "user", "content": "How do I solve 2x + 3 = 7?"}
    # Stored once: the conversation holds the question and exactly one answer.
    texts = [(m["sender"]["kind"], m["text"]) for m in await room.messages()]
    assert texts == [("user", "How do I solve 2x + 3 = 7?"), ("ai", DEFAULT_REPLY)]


async def test_stop_keeps_only_what_was_sent(
    tutor_cluster: Cluster, sockets: Sockets, chat: OpenAIChatStub, voice: ElevenLabsStub
) -> None:
    chat.profile.tokens_per_second = 8  # the reply takes seconds: room to interrupt it
    room = await both(tutor_cluster, sockets)
    await room.say("Explain fractions to me.", "q1")
    first = await room.friend.next("ai-delta")  # type: ignore[union-attr]

    # The second participant (on the other replica from wherever the reply runs) stops it.
    ack = await room.friend.call("stop", {"room_id": room.room_id})  # type: ignore[union-attr]
    assert ack == {"ok": True}

    events = await reply_done(room.learner)
    message = events.message
    assert message["metadata"]["interrupted"] is True
    assert events.done is not None and events.done["reply_id"] == first["reply_id"]
    # What is kept is exactly what the room was shown, a part of the reply.
    assert message["text"] == events.text and 0 < len(message["text"]) < len(DEFAULT_REPLY)
    assert message.get("audio_urls", []) == [a["url"] for a in events.audio]
    assert [m["text"] for m in await room.messages()][-1] == events.text

    # The room goes on: the next question gets a whole reply, and nothing more of the old one.
    chat.profile.tokens_per_second = None
    await room.say("Okay, what is a half of a half?", "q2")
    after = await reply_done(room.learner)
    assert after.message["text"] == DEFAULT_REPLY
    assert {d["reply_id"] for d in after.deltas} == {after.done["reply_id"]}  # type: ignore[index]


async def test_a_new_learner_message_interrupts_the_reply(
    tutor_cluster: Cluster, sockets: Sockets, chat: OpenAIChatStub, voice: ElevenLabsStub
) -> None:
    chat.profile.tokens_per_second = 8
    room = await both(tutor_cluster, sockets)
    first_q = await room.say("What is a prime number?", "q1")
    await room.learner.next("ai-delta")
    chat.profile.tokens_per_second = None
    second_q = await room.say("Actually, what is an even number?", "q2")

    interrupted = await reply_done(room.learner)
    assert interrupted.message["reply_to"] == first_q["id"]
    assert interrupted.message["metadata"]["interrupted"] is True
    answered = await reply_done(room.learner)
    assert answered.message["reply_to"] == second_q["id"]
    assert answered.message["text"] == DEFAULT_REPLY
    sent = chat.requests[-1].json["messages"]
    assert isinstance(sent, list)
    assert sent[-1] == {"role": "user", "content": "Actually, what is an even number?"}
    replies = [m for m in await room.messages() if m["sender"]["kind"] == "ai"]
    assert [m["reply_to"] for m in replies] == [first_q["id"], second_q["id"]]


async def test_llm_retried_before_the_first_token(
    tutor_cluster: Cluster, sockets: Sockets, chat: OpenAIChatStub, voice: ElevenLabsStub
) -> None:
    room = await open_room(sockets, tutor_cluster[0].url)
    chat.fail_next(429, retry_after="0")
    chat.fail_next(503)
    await room.say("What is 3 squared?", "q1")
    events = await reply_done(room.learner)
    assert events.message["text"] == DEFAULT_REPLY and not events.errors
    assert len(chat.requests) == 3


@pytest.mark.parametrize(
    ("status", "code"),
    [(503, "upstream_error"), (429, "rate_limited"), (401, "rejected")],
)
async def test_llm_down_gives_a_readable_error_and_the_room_goes_on(
    tutor_cluster: Cluster,
    sockets: Sockets,
    chat: OpenAIChatStub,
    voice: ElevenLabsStub,
    status: int,
    code: str,
) -> None:
    room = await open_room(sockets, tutor_cluster[0].url)
    # Retryable errors fail all three attempts; a refusal is not retried.
    chat.fail_next(
        status, times=1 if status == 401 else 3, retry_after="0" if status == 429 else None
    )
    await room.say("Can you help me?", "q1")
    failed = await reply_failed(room.learner)
    assert failed.errors[0]["code"] == code
    assert failed.errors[0]["message"] in ERROR_MESSAGES.values()
    assert not failed.deltas
    await room.say("Can you help me now?", "q2")
    assert (await reply_done(room.learner)).message["text"] == DEFAULT_REPLY
    assert [m["sender"]["kind"] for m in await room.messages()] == ["user", "user", "ai"]


async def test_llm_silent_before_the_first_token_times_out(
    tutor_cluster: Cluster, sockets: Sockets, chat: OpenAIChatStub, voice: ElevenLabsStub
) -> None:
    room = await open_room(sockets, tutor_cluster[0].url)
    chat.fail_mid_stream(after=0, mode="stall")  # the replicas wait 2 s for a first token
    await room.say("Hello?", "q1")
    failed = await reply_failed(room.learner)
    assert failed.errors[0]["code"] == "timeout" and not failed.deltas


@pytest.mark.parametrize("mode", ["disconnect", "error_event", "stall"])
async def test_llm_failing_mid_stream_keeps_the_sent_part(
    tutor_cluster: Cluster,
    sockets: Sockets,
    chat: OpenAIChatStub,
    voice: ElevenLabsStub,
    mode: str,
) -> None:
    room = await open_room(sockets, tutor_cluster[0].url)
    chat.fail_mid_stream(after=10, mode=mode)
    await room.say("Tell me about equations.", "q1")
    events = await reply_done(room.learner)
    assert [e["code"] for e in events.errors] == ["stream_failed"]
    expected = "".join(DEFAULT_REPLY.split(" ")[i] + " " for i in range(10))
    assert events.text == expected == events.message["text"]
    assert events.message["metadata"]["error"] == "stream_failed"
    assert len(chat.requests) == 1  # never retried after the first token


@pytest.mark.parametrize("failure", ["down", "mid_stream", "stall"])
async def test_voice_failing_continues_as_text_with_a_notice(
    tutor_cluster: Cluster,
    sockets: Sockets,
    chat: OpenAIChatStub,
    voice: ElevenLabsStub,
    failure: str,
) -> None:
    room = await open_room(sockets, tutor_cluster[0].url)
    voice.profile.chunk_seconds = 0.05  # several chunks a sentence
    if failure == "down":
        voice.fail_next(500, times=100)
    else:  # cut, or silent past the replicas' 1 s chunk timeout
        voice.fail_mid_stream(
            after=1, mode="stall" if failure == "stall" else "disconnect", times=100
        )
    await room.say("What is a ratio?", "q1")
    events = await reply_done(room.learner)
    assert events.message["text"] == DEFAULT_REPLY
    assert [n["code"] for n in events.notices] == ["voice_unavailable"]
    assert events.message["metadata"]["voice_off"] == "voice_unavailable"
    assert not events.audio and "audio_urls" not in events.message


async def test_ending_the_room_keeps_the_tutored_session(
    tutor_cluster: Cluster, sockets: Sockets, chat: OpenAIChatStub, voice: ElevenLabsStub
) -> None:
    room = await open_room(sockets, tutor_cluster[0].url)
    await room.say("What is 7 times 8?", "q1")
    reply = await reply_done(room.learner)
    ended = await room.learner_api.request("DELETE", f"/api/rooms/{room.room_id}")
    assert ended.status_code == 200, ended.text
    record = ended.json()
    assert record["message_count"] == 2 and record["duration_seconds"] >= 0
    assert record["transcript_preview"].startswith("Ann: What is 7 times 8? Ada: Great question!")
    r = await room.learner_api.request("GET", f"/api/sessions/{record['session_id']}/transcript")
    assert r.status_code == 200
    transcript = r.json()["messages"]
    assert [m["text"] for m in transcript] == ["What is 7 times 8?", DEFAULT_REPLY]
    # The same clips, under links signed as the transcript was read.
    assert [urlsplit(u).path for u in transcript[1]["audio_urls"]] == [
        urlsplit(u).path for u in reply.message["audio_urls"]
    ]


async def test_stop_naming_an_old_reply_leaves_the_current_one(
    tutor_cluster: Cluster, sockets: Sockets, chat: OpenAIChatStub, voice: ElevenLabsStub
) -> None:
    room = await both(tutor_cluster, sockets)
    await room.say("What is 2 + 2?", "q1")
    old = await reply_done(room.learner)
    chat.profile.tokens_per_second = 20
    await room.say("And 3 + 3?", "q2")
    current = await room.learner.next("ai-delta")
    stale = {"room_id": room.room_id, "reply_id": old.done["reply_id"]}  # type: ignore[index]
    assert await room.friend.call("stop", stale) == {"ok": True}  # type: ignore[union-attr]
    events = await reply_done(room.learner)
    assert events.done is not None and events.done["reply_id"] == current["reply_id"]
    assert events.message["text"] == DEFAULT_REPLY
    assert "interrupted" not in events.message["metadata"]
