"""A replica with a speech-to-text vendor (the loopback stand-ins): captions, audio seconds
counted, and failures that tell the learner and leave the call up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import Replica
from tests.stubs.transcription import TranscriptionStub
from tests.voice.conftest import VOICE_ENV, Join, Member
from tests.voice.peer import TutorCall, speech

KEY = "stt-e2e-key"


@pytest.fixture(scope="module")
def stt_stub() -> Iterator[TranscriptionStub]:
    with TranscriptionStub(api_key=KEY) as stub:
        yield stub


@pytest.fixture(scope="module")
def vendor_replicas(
    stt_stub: TranscriptionStub, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Replica]]:
    common = {**VOICE_ENV, "HOLO_STT_TIMEOUT_SECONDS": "1", "HOLO_TTS_PROVIDER": "none"}
    replicas = {
        "openai": Replica(
            name="voice-openai",
            env={
                **common,
                "HOLO_STT_PROVIDER": "openai",
                "HOLO_STT_BASE_URL": stt_stub.base_url,
                "HOLO_STT_API_KEY": KEY,
            },
        ).start(),
        "deepgram": Replica(
            name="voice-deepgram",
            env={
                **common,
                "HOLO_STT_PROVIDER": "deepgram",
                "HOLO_DEEPGRAM_BASE_URL": stt_stub.ws_url,
                "HOLO_DEEPGRAM_API_KEY": KEY,
                # Used up by the test's one transcribed utterance: then pocketsphinx listens.
                "HOLO_STT_SECONDS_BUDGET": "2",
            },
        ).start(),
    }
    yield replicas
    for replica in replicas.values():
        replica.stop()


@pytest.fixture
def stub(stt_stub: TranscriptionStub) -> Iterator[TranscriptionStub]:
    stt_stub.reset()
    yield stt_stub
    stt_stub.reset()


async def _final(member: Member) -> dict[str, Any]:
    while True:
        event = await member.socket.next("transcript", timeout=20)
        # The learner's words (the tutor's own captions come as speaker "ai").
        if event["final"] and event["speaker"]["kind"] == "user":
            return dict(event)


async def test_openai_compatible_failures_give_a_notice_and_the_call_goes_on(
    vendor_replicas: dict[str, Replica], stub: TranscriptionStub, join: Join, audio_dir: Path
) -> None:
    me = await join(vendor_replicas["openai"])
    call = TutorCall(me.socket, me.room_id)
    utterance = speech("hello there", audio_dir)
    stub.text = "what is a fraction"
    try:
        await call.start()
        stub.fail_next(503)
        call.mic.say(utterance)
        notice = await me.socket.next("notice", timeout=20)
        assert notice["code"] == "speech_unavailable"
        stub.delay = 3.0  # longer than HOLO_STT_TIMEOUT_SECONDS
        call.mic.say(utterance)
        assert (await me.socket.next("notice", timeout=20))["code"] == "speech_unavailable"
        stub.delay = 0.0
        call.mic.say(utterance)
        final = await _final(me)
        assert final["text"] == "what is a fraction"
        stored = await me.socket.next("message", timeout=10)
        assert stored["text"] == "what is a fraction" and stored["metadata"]["spoken"] is True
        # No voice on this replica (TTS none): back to listening once the reply is done.
        assert (await me.socket.next("tutor-state", timeout=10))["state"] == "thinking"
        await me.socket.next("ai-done", timeout=20)
        assert (await me.socket.next("tutor-state", timeout=20))["state"] == "listening"
        seconds = await me.metric('holo_stt_audio_seconds_total{provider="openai"}')
        assert seconds > 0.5  # three utterances of about a second each were sent
    finally:
        await call.close()


async def test_deepgram_captions_survives_a_dropped_stream_then_its_budget_runs_out(
    vendor_replicas: dict[str, Replica], stub: TranscriptionStub, join: Join, audio_dir: Path
) -> None:
    me = await join(vendor_replicas["deepgram"])
    call = TutorCall(me.socket, me.room_id)
    utterance = speech("what is the capital of france and why", audio_dir)
    stub.text = "deepgram heard this"
    try:
        await call.start()
        stub.fail_mid_stream(after=5, mode="disconnect")
        call.mic.say(utterance)
        assert (await me.socket.next("notice", timeout=20))["code"] == "speech_unavailable"
        _drain(me, "transcript")
        call.mic.say(utterance)
        first = await me.socket.next("transcript", timeout=20)
        assert first["final"] is False and first["text"]  # a caption while speaking
        final = await _final(me)
        assert final["text"] == stub.text
        assert final["utterance_id"] == first["utterance_id"]
        streams = len(stub.queries)
        # Over HOLO_STT_SECONDS_BUDGET: the offline recognizer takes over, the vendor is spared.
        call.mic.say(utterance)
        offline = await _final(me)
        assert "capital" in offline["text"] and len(stub.queries) == streams
    finally:
        await call.close()


def _drain(member: Member, event: str) -> None:
    queue = member.socket.events[event]
    while not queue.empty():
        queue.get_nowait()
