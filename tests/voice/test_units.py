"""The voice pipeline's pure parts: utterance segmentation and what a cut track says was heard."""

from __future__ import annotations

from app.voice.audio import StreamDecoder, decode_clip
from app.voice.track import FRAME_BYTES, Clip, ClipAudio, TutorVoiceTrack, cut_text
from app.voice.vad import WINDOW_BYTES, Segmenter
from tests.stubs.mp3 import silent_mp3

LOUD = b"\x00\x10" * (WINDOW_BYTES // 2)  # 4096 of full scale: above the energy gate
QUIET = bytes(WINDOW_BYTES)


class Scripted:
    """A speech model that calls loud windows speech."""

    def __init__(self) -> None:
        self.calls = 0

    def probability(self, window: bytes) -> float:
        self.calls += 1
        return 0.9


def kinds(segmenter: Segmenter, pcm: bytes) -> list[str]:
    return [event.kind for event in segmenter.feed(pcm)]


def test_an_utterance_ends_after_the_silence_window_and_quiet_skips_the_model() -> None:
    model = Scripted()
    seg = Segmenter(model, silence_seconds=0.128, min_speech_seconds=0.064)  # 4 and 2 windows
    assert kinds(seg, QUIET * 10) == []
    assert model.calls == 0  # below the energy gate the model is not asked
    events = seg.feed(LOUD * 3)
    assert [e.kind for e in events] == ["onset", "speech", "speech"]
    assert len(events[0].pcm) == WINDOW_BYTES * 9  # pre-roll (8 windows) + the onset window
    assert kinds(seg, QUIET * 3) == ["speech"] * 3
    assert kinds(seg, QUIET) == ["speech", "end"]
    assert not seg.speaking


def test_speech_shorter_than_the_minimum_is_discarded_and_pauses_do_not_end_it() -> None:
    seg = Segmenter(Scripted(), silence_seconds=0.128, min_speech_seconds=0.2)
    assert kinds(seg, LOUD) == ["onset"]
    assert kinds(seg, QUIET * 4)[-1] == "discard"
    assert kinds(seg, LOUD * 4 + QUIET * 2 + LOUD * 4 + QUIET * 3).count("end") == 0
    assert kinds(seg, QUIET)[-1] == "end"


def _clip(seq: int, text: str, frames: int) -> Clip:
    pcm = bytearray(b"\x01\x00" * (FRAME_BYTES // 2) * frames)
    return Clip(reply_id="r1", seq=seq, text=text, audio=ClipAudio(pcm, complete=True))


def test_a_cut_says_what_was_heard_and_silences_the_track() -> None:
    track = TutorVoiceTrack()
    track.play(_clip(0, "Good question.", 2))
    track.play(_clip(1, "Think about the first step here.", 10))
    track.play(_clip(2, "What do you get?", 5))
    for _ in range(2 + 4):  # the first clip whole, 4 of the second's 10 frames
        track._next_frame()
    assert track.speaking and track.interruptible
    played = track.cut()
    assert played is not None
    assert played.reply_id == "r1" and played.clips == 2
    assert played.text == "Good question. Think about"  # 4 of 10 frames: 2 of 6 words
    assert track._next_frame() == bytes(FRAME_BYTES) and not track.speaking
    assert track.cut() is None  # nothing left to cut


def test_a_clip_still_arriving_plays_what_came_and_waits_for_the_rest() -> None:
    track = TutorVoiceTrack()
    voice = b"\x01\x00" * (FRAME_BYTES // 2)
    streaming = ClipAudio(bytearray(voice))
    track.play(Clip(reply_id="r1", seq=0, text="Good question.", audio=streaming))
    track.play(_clip(1, "Next.", 1))
    assert track._next_frame() == voice and track.speaking
    # Nothing more decoded yet: silence, but the tutor is still speaking (no gap is reported).
    assert track._next_frame() == bytes(FRAME_BYTES) and track.speaking
    streaming.pcm += voice
    streaming.complete = True
    assert track._next_frame() == voice
    assert track._next_frame() == voice  # the next sentence, straight after
    assert track._next_frame() == bytes(FRAME_BYTES) and not track.speaking


def test_cut_text_keeps_whole_words() -> None:
    assert cut_text("one two three four", 0.5) == "one two"
    assert cut_text("one two three four", 0) == ""
    assert cut_text("one two", 1.0) == "one two"


def test_streamed_mp3_decodes_as_it_arrives_and_adds_up_to_the_whole_clip() -> None:
    mp3 = silent_mp3(1.0)
    decoder = StreamDecoder()
    parts = [decoder.decode(mp3[i : i + 1000]) for i in range(0, len(mp3), 1000)]
    assert parts[0]  # audio from the first chunk, before the rest has arrived
    assert len(b"".join(parts) + decoder.flush()) == len(decode_clip(mp3))
