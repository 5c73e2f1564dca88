"""The speaker with in-process engines: clips are announced in sentence order however their
synthesis finishes, and the first failure switches voice off from that sentence on."""

from __future__ import annotations

from app.tutor.speaker import OffReason, Speaker
from app.tutor.usage import VoiceAllowance
from tests.tutor.engines import GatedTTS, MemoryStorage


class Room:
    def __init__(self) -> None:
        self.announced: list[tuple[int, str, str]] = []
        self.off: list[OffReason] = []
        self.recorded: list[tuple[str, int, int]] = []

    async def announce(self, seq: int, url: str, text: str) -> None:
        self.announced.append((seq, url, text))

    async def record(self, provider: str, characters: int, billed: int) -> None:
        self.recorded.append((provider, characters, billed))

    async def switched_off(self, reason: OffReason, error: Exception | None) -> None:
        self.off.append(reason)


def speaker(
    tts: GatedTTS, storage: MemoryStorage, room: Room, allowance: int | None = None
) -> Speaker:
    return Speaker(
        tts=tts,
        storage=storage,
        voice="v",
        key_prefix="room/reply",
        allowance=VoiceAllowance(allowance),
        announce=room.announce,
        record=room.record,
        switched_off=room.switched_off,
    )


async def test_clips_are_announced_in_order_whatever_finishes_first() -> None:
    tts, storage, room = GatedTTS(), MemoryStorage(), Room()
    voice = speaker(tts, storage, room)
    for sentence in ("One.", "Two.", "Three."):
        await voice.say(sentence)
    tts.release("Three.")
    tts.release("Two.")
    await storage.holding(2)  # both stored: still nothing may be announced before "One."
    assert room.announced == []
    tts.release("One.")
    await voice.finish()
    assert room.announced == [
        (0, "mem://room/reply/0.mp3", "One."),
        (1, "mem://room/reply/1.mp3", "Two."),
        (2, "mem://room/reply/2.mp3", "Three."),
    ]
    assert storage.objects["room/reply/1.mp3"] == b"Two."
    assert voice.urls == [url for _, url, _ in room.announced]
    assert sorted(room.recorded) == [("gated", 4, 4), ("gated", 4, 4), ("gated", 6, 6)]


async def test_a_failure_keeps_the_clips_before_it_and_none_after() -> None:
    tts, storage, room = GatedTTS(), MemoryStorage(), Room()
    voice = speaker(tts, storage, room)
    tts.fail.add("Two.")
    for sentence in ("One.", "Two.", "Three.", "Four."):
        await voice.say(sentence)
    for sentence in ("Four.", "Three.", "Two.", "One."):
        tts.release(sentence)
    await voice.finish()
    await voice.say("Five.")  # voice stays off for the rest of the reply
    assert [text for _, _, text in room.announced] == ["One."]
    assert room.off == ["voice_unavailable"] and voice.off_reason == "voice_unavailable"


async def test_storage_down_and_budget_switch_voice_off_with_their_reason() -> None:
    tts, storage, room = GatedTTS(), MemoryStorage(), Room()
    storage.down = True
    voice = speaker(tts, storage, room)
    tts.release("One.")
    await voice.say("One.")
    await voice.finish()
    assert room.off == ["storage_unavailable"] and not room.announced

    budget_room, budget_tts = Room(), GatedTTS()
    limited = speaker(budget_tts, MemoryStorage(), budget_room, allowance=5)
    for sentence in ("Hi.", "Longer."):
        budget_tts.release(sentence)
        await limited.say(sentence)
    await limited.finish()
    assert [text for _, _, text in budget_room.announced] == ["Hi."]
    assert budget_room.off == ["voice_budget"]
