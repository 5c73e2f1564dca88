"""Interrupting the tutor by voice: its track goes silent, and the stored reply keeps only what
the learner heard (``metadata.interrupted``), as with ``stop``."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from tests.servers import Replica
from tests.voice.conftest import Join
from tests.voice.peer import TutorCall, speech


async def test_speaking_over_the_tutor_silences_it_and_cuts_the_stored_reply(
    voice_replica: Replica, join: Join, audio_dir: Path
) -> None:
    me = await join(voice_replica)
    call = TutorCall(me.socket, me.room_id)
    question = speech("what is the capital of france", audio_dir)
    interruption = speech("wait a moment please", audio_dir)
    try:
        await call.start()
        said = call.mic.say(question)
        asked = await me.socket.next("message", timeout=20)
        first = await call.voice_after(said, timeout=20)
        while len([t for t in call.voiced if t >= first]) < 40:  # about a second of its voice
            await asyncio.sleep(0.02)

        call.mic.say(interruption)
        done = await _done_interrupted(me.socket, asked["id"])
        # Silence follows the cut (the reply had many seconds left to say).
        await call.silent_after(time.time(), quiet=0.5, timeout=3)

        full = "".join(d["text"] for d in _drain(me.socket, "ai-delta"))
        assert done["metadata"]["interrupted"] is True
        assert done["text"] and len(done["text"]) < len(full)
        history = await me.api.request("GET", f"/api/rooms/{me.room_id}/messages")
        stored = next(m for m in history.json()["messages"] if m["id"] == done["id"])
        assert stored["text"] == done["text"] and stored["metadata"]["interrupted"] is True
    finally:
        await call.close()


async def _done_interrupted(socket: Any, reply_to: str) -> dict[str, Any]:
    while True:
        done = await socket.next("ai-done", timeout=30)
        message = done["message"]
        if message["reply_to"] == reply_to and (message.get("metadata") or {}).get("interrupted"):
            return dict(message)


def _drain(socket: Any, event: str) -> list[Any]:
    queue = socket.events[event]
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items
