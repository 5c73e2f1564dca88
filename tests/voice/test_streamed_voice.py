"""A replica speaking with ElevenLabs (the loopback stand-in): the call hears a sentence while
the rest of its audio is still streaming."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import VOICE_KEY
from tests.servers import Replica
from tests.stubs.elevenlabs import ElevenLabsStub
from tests.voice.conftest import VOICE_ENV, Join
from tests.voice.peer import TutorCall


@pytest.fixture(scope="module")
def elevenlabs_replica(voice_server: ElevenLabsStub) -> Iterator[Replica]:
    replica = Replica(
        name="voice-elevenlabs",
        env={
            **VOICE_ENV,
            "HOLO_TTS_PROVIDER": "elevenlabs",
            "HOLO_ELEVENLABS_BASE_URL": voice_server.base_url,
            "HOLO_ELEVENLABS_API_KEY": VOICE_KEY,
            "HOLO_TTS_MAX_ATTEMPTS": "1",
            "HOLO_TTS_CHUNK_TIMEOUT_SECONDS": "5",
        },
    ).start()
    yield replica
    replica.stop()


async def test_the_call_hears_a_sentence_before_its_whole_clip_has_arrived(
    elevenlabs_replica: Replica, voice_stub: ElevenLabsStub, join: Join
) -> None:
    # The first clip stops after its first chunk: only what streamed so far can be heard.
    voice_stub.fail_mid_stream(after=1, mode="stall")
    me = await join(elevenlabs_replica)
    call = TutorCall(me.socket, me.room_id)
    try:
        await call.start()
        sent = await me.socket.call(
            "message", {"room_id": me.room_id, "text": "hello", "client_id": "c-stream"}
        )
        assert sent["ok"], sent
        while (await me.socket.next("tutor-state", timeout=20))["state"] != "speaking":
            pass
        # Still inside the stalled clip: voice has not been given up on yet.
        assert me.socket.pending("notice") == 0
        # The stall then ends that clip; the reply goes on as text and the call falls silent.
        notice = await me.socket.next("notice", timeout=20)
        assert notice["code"] == "voice_unavailable"
        while (await me.socket.next("tutor-state", timeout=20))["state"] != "listening":
            pass
        await me.socket.next("ai-done", timeout=20)
    finally:
        await call.close()
