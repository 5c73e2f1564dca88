"""A reply across two replicas: the learner on A, a second participant on B (real Redis, moto's
S3, the LLM and ElevenLabs stand-ins)."""

from __future__ import annotations

import io
from collections.abc import Callable

import httpx
from mutagen.mp3 import MP3

from tests.clients import SocketClient
from tests.servers import Replica
from tests.stubs.elevenlabs import ElevenLabsStub
from tests.stubs.openai_chat import DEFAULT_REPLY, OpenAIChatStub
from tests.tutor.room import TutorRoom, open_room, reply_done

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
