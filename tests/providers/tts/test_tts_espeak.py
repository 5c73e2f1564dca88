"""The offline engine: espeak-ng as a subprocess, producing a valid WAV."""

from __future__ import annotations

import io
import shutil
import wave

import pytest

from app.providers.errors import Rejected, UpstreamError
from app.providers.tts.espeak import EspeakTTS
from app.providers.tts.wav import fix_wav_sizes
from tests.stubs.recording_observer import RecordingObserver

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


async def synthesize(tts: EspeakTTS, text: str, voice: str) -> tuple[bytes, str]:
    async with tts.synthesize(text, voice) as speech:
        return await speech.read(), speech.content_type


def duration_of(audio: bytes) -> float:
    with wave.open(io.BytesIO(audio)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        assert w.getnframes() * w.getsampwidth() == len(audio) - 44  # exact sizes
        return float(w.getnframes() / w.getframerate())


async def test_valid_wav(observer: RecordingObserver) -> None:
    audio, content_type = await synthesize(
        EspeakTTS(observer=observer, chunk_size=4096), "Hello, let's try this step.", "en-gb"
    )
    assert content_type == "audio/wav"
    assert 0.5 < duration_of(audio) < 5
    assert [p for p, _ in observer.first_bytes] == ["espeak"]


async def test_unknown_or_foreign_voice_falls_back_to_default() -> None:
    # An ElevenLabs voice id is not an espeak voice; a sentence still gets spoken.
    for voice in ("21m00Tcm4TlvDq8ikWAM", "xx-nonexistent"):
        audio, _ = await synthesize(EspeakTTS(), "Good work.", voice)
        assert duration_of(audio) > 0.2


async def test_text_that_looks_like_an_option_is_spoken() -> None:
    audio, _ = await synthesize(EspeakTTS(), "--version -w /tmp/x.wav", "en")
    assert duration_of(audio) > 0.5


async def test_blank_text_and_missing_binary() -> None:
    with pytest.raises(Rejected):
        await synthesize(EspeakTTS(), "  ", "en")
    with pytest.raises(UpstreamError, match="cannot run"):
        await synthesize(EspeakTTS(binary="/nonexistent/espeak-ng"), "Hi.", "en")


def test_fix_wav_sizes_rejects_non_wav() -> None:
    with pytest.raises(ValueError):
        fix_wav_sizes(b"ID3\x04not a wav at all")
