"""A spoken turn end to end against a real replica: espeak-ng speech over WebRTC is transcribed
offline, answered by the offline tutor, spoken back on the tutor's track and stored as spoken."""

from __future__ import annotations

from pathlib import Path

from tests.servers import Replica
from tests.voice.conftest import Join
from tests.voice.peer import TutorCall, speech


async def test_a_spoken_question_is_transcribed_answered_aloud_and_stored(
    voice_replica: Replica, join: Join, audio_dir: Path
) -> None:
    me = await join(voice_replica)
    call = TutorCall(me.socket, me.room_id)
    try:
        await call.start()
        said_at = call.mic.say(speech("what is the capital of france", audio_dir))

        transcript = await me.socket.next("transcript", timeout=20)
        while not transcript["final"]:
            transcript = await me.socket.next("transcript", timeout=20)
        assert transcript["room_id"] == me.room_id
        assert transcript["speaker"] == {"kind": "user", "user_id": me.api.user_id}
        assert "capital" in transcript["text"]

        stored = await me.socket.next("message", timeout=10)
        assert stored["metadata"]["spoken"] is True
        assert stored["metadata"]["stt"] == "pocketsphinx" and stored["metadata"]["stt_offline"]
        assert stored["text"] == transcript["text"]
        assert stored["client_id"] == f"utt-{transcript['utterance_id']}"

        await call.voice_after(said_at, timeout=20)
        caption = await me.socket.next("transcript", timeout=10)  # the tutor's side, as it speaks
        assert caption["speaker"] == {"kind": "ai"} and caption["final"] is True
        assert caption["text"] and caption["utterance_id"].endswith("-0")
        states = {(await me.socket.next("tutor-state", timeout=10))["state"] for _ in range(2)}
        assert "speaking" in states

        done = await me.socket.next("ai-done", timeout=20)
        assert done["message"]["reply_to"] == stored["id"]
        history = await me.api.request("GET", f"/api/rooms/{me.room_id}/messages")
        texts = [
            (m["sender"]["kind"], (m.get("metadata") or {}).get("spoken"))
            for m in history.json()["messages"]
        ]
        assert ("user", True) in texts and any(kind == "ai" for kind, _ in texts)
    finally:
        await call.close()
