"""Whom a message is for: alone with the tutor, everything; with a second person, only what is
addressed to it (push-to-talk or the Ask toggle, or its name first)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.voice.addressing import for_tutor, names_companion
from tests.servers import RedisServer, Replica
from tests.voice.conftest import VOICE_ENV, Join, Member
from tests.voice.peer import TutorCall, speech

UTTERANCES_ENDED = "holo_stt_final_seconds_count"  # observed as each utterance's text is final


@pytest.mark.parametrize(
    ("text", "addressed"),
    [
        ("@Ada what is a prime?", True),
        ("@ada, help", True),
        ("Ada, what is a prime?", True),
        ("hey ada can you help", True),
        ("Ava what is a prime", True),  # a recognizer's near miss
        ("ok so Ada what next", True),
        ("what is a prime, Ada?", False),  # not at the start
        ("I told Ada's brother", False),
        ("adam, look at this", True),  # close enough to be worth answering
        ("let's do question three", False),
        ("", False),
    ],
)
def test_names_companion(text: str, addressed: bool) -> None:
    assert names_companion(text, "Ada") is addressed


def test_accents_and_the_one_person_rule() -> None:
    assert names_companion("sofia, ¿qué tal?", "Sofía")
    assert for_tutor(humans=1, asked=False, text="anything", companion_name="Ada")
    assert not for_tutor(humans=2, asked=False, text="anything", companion_name="Ada")
    assert for_tutor(humans=2, asked=True, text="anything", companion_name="Ada")


async def _pair(replica: Replica, join: Join) -> tuple[Member, Member]:
    a = await join(replica, name="Ann")
    b = await join(replica, room=a.room, name="Bob")
    return a, b


async def _say(member: Member, text: str, **extra: Any) -> dict[str, Any]:
    ack = await member.socket.call(
        "message",
        {"room_id": member.room_id, "text": text, "client_id": f"c-{abs(hash(text))}", **extra},
    )
    assert ack["ok"], ack
    return dict(ack["message"])


async def test_typed_messages_between_two_people_get_a_reply_only_when_addressed(
    voice_replica: Replica, join: Join
) -> None:
    a, b = await _pair(voice_replica, join)
    chat = await _say(a, "shall we start with question two?")
    # A barrier: a message queued after it, in a room of one, is answered; had the chat message
    # been queued too, its reply would have been streamed to the room by then.
    alone = await join(voice_replica, name="Cy")
    await _say(alone, "hello")
    await alone.socket.next("ai-done", timeout=20)
    assert a.socket.pending("ai-delta") == 0
    asked = await _say(b, "@Ada what is a prime number?")
    assert (await a.socket.next("ai-done", timeout=20))["message"]["reply_to"] == asked["id"]
    toggled = await _say(a, "is one a prime?", to_tutor=True)
    assert (await a.socket.next("ai-done", timeout=20))["message"]["reply_to"] == toggled["id"]
    # Both replies are stored after the chat message, so a reply to it would be stored too.
    history = await a.api.request("GET", f"/api/rooms/{a.room_id}/messages")
    replies = [m["reply_to"] for m in history.json()["messages"] if m["sender"]["kind"] == "ai"]
    assert chat["id"] not in replies


async def test_alone_every_typed_message_gets_a_reply(voice_replica: Replica, join: Join) -> None:
    me = await join(voice_replica)
    sent = await _say(me, "let's do question three")
    assert (await me.socket.next("ai-done", timeout=20))["message"]["reply_to"] == sent["id"]


async def test_spoken_between_two_people_the_tutor_answers_only_push_to_talk(
    voice_replica: Replica, join: Join, audio_dir: Path
) -> None:
    a, b = await _pair(voice_replica, join)
    calls = [TutorCall(a.socket, a.room_id), TutorCall(b.socket, b.room_id)]
    question = speech("what is the capital of france", audio_dir)
    try:
        for call in calls:
            await call.start()
        heard = await a.metric(UTTERANCES_ENDED)
        calls[0].mic.say(question)  # to Bob, not to the tutor
        # Ann presses push-to-talk once the tutor has heard that utterance end: pressed sooner,
        # her next words could still belong to it (audio arriving late on a busy machine), and
        # an utterance is addressed or not as a whole.
        await _until_ended(a, heard)
        assert (await a.socket.call("tutor-ask", {"room_id": a.room_id, "active": True}))["ok"]
        said = calls[0].mic.say(question)
        stored = await b.socket.next("message", timeout=20)  # the first one never came
        assert stored["metadata"]["spoken"] is True
        assert stored["sender"]["user_id"] == a.api.user_id
        final = await _final_transcript(b)
        assert final["utterance_id"] == stored["metadata"]["utterance_id"]
        # Both people hear the answer, each on their own tutor track.
        for call in calls:
            await call.voice_after(said, timeout=20)
    finally:
        for call in calls:
            await call.close()


async def _until_ended(member: Member, before: float) -> None:
    """Until the replica has ended (and recognized) an utterance more than ``before``."""

    async def more() -> None:
        while await member.metric(UTTERANCES_ENDED) <= before:
            await asyncio.sleep(0.05)  # a metric: nothing to await

    await asyncio.wait_for(more(), 20)


async def _final_transcript(member: Member) -> dict[str, Any]:
    while True:
        event = await member.socket.next("transcript", timeout=20)
        # The learner's words (the tutor's own captions come as speaker "ai").
        if event["final"] and event["speaker"]["kind"] == "user":
            return dict(event)


@pytest.fixture(scope="module")
def voice_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Replica]]:
    """Two replicas on a Redis of their own (every replica on a Redis takes reply jobs from the
    same consumer group: the session's other replicas, with no voice, would answer these rooms);
    one media directory, as one bucket would be."""
    redis = RedisServer().start()
    media = str(tmp_path_factory.mktemp("pair-media"))
    env = {**VOICE_ENV, "HOLO_REDIS_URL": redis.url, "HOLO_MEDIA_DIR": media}
    replicas = [Replica(name=f"voice-pair-{i}", env=env).start() for i in range(2)]
    yield replicas
    for replica in replicas:
        replica.stop()
    redis.cleanup()


async def test_two_people_on_two_replicas_both_hear_the_reply(
    voice_pair: list[Replica], join: Join, audio_dir: Path
) -> None:
    a = await join(voice_pair[0], name="Ann")
    b = await join(voice_pair[1], room=a.room, name="Bob")
    calls = [TutorCall(a.socket, a.room_id), TutorCall(b.socket, b.room_id)]
    try:
        for call in calls:
            await call.start()
        assert (await b.socket.call("tutor-ask", {"room_id": b.room_id, "active": True}))["ok"]
        said = calls[1].mic.say(speech("what is the capital of france", audio_dir))
        stored = await a.socket.next("message", timeout=20)
        assert stored["metadata"]["spoken"] is True
        heard = [await call.voice_after(said, timeout=20) for call in calls]
        assert all(t > said for t in heard)
        # One message, one reply, whichever replica ran it.
        done = await a.socket.next("ai-done", timeout=20)
        history = await a.api.request("GET", f"/api/rooms/{a.room_id}/messages")
        messages = history.json()["messages"]
        assert [m["id"] for m in messages if m["sender"]["kind"] == "user"] == [stored["id"]]
        assert [m["id"] for m in messages if m["sender"]["kind"] == "ai"] == [done["message"]["id"]]
    finally:
        for call in calls:
            await call.close()
