"""The speech-to-text vendors against their stand-ins (tests/stubs/transcription.py), and the
offline recognizer on real speech from espeak-ng."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from app.providers.errors import (
    BadResponse,
    ProviderTimeout,
    Rejected,
    StreamFailed,
    UpstreamError,
)
from app.providers.stt import STT, STTTimeouts
from app.providers.stt.deepgram import DeepgramSTT
from app.providers.stt.openai_compatible import OpenAICompatibleSTT
from app.providers.stt.pocketsphinx import PocketsphinxSTT
from tests.stubs.transcription import TranscriptionStub
from tests.voice.peer import speech

KEY = "stt-test-key"
SECOND = bytes(32_000)  # one second of 16 kHz 16-bit silence


@pytest.fixture(scope="module")
def stt_server() -> Iterator[TranscriptionStub]:
    with TranscriptionStub(api_key=KEY) as stub:
        yield stub


@pytest.fixture
def stub(stt_server: TranscriptionStub) -> Iterator[TranscriptionStub]:
    stt_server.reset()
    yield stt_server
    stt_server.reset()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


async def recognize(stt: STT, pcm: bytes, partials: list[str] | None = None) -> str:
    async def partial(text: str) -> None:
        if partials is not None:
            partials.append(text)

    recognition = stt.start(partial)
    for i in range(0, len(pcm), 3200):  # 100 ms at a time, as the VAD hands it over
        await recognition.feed(pcm[i : i + 3200])
    return await recognition.finish()


@pytest.fixture(scope="module")
def question(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return speech("what is the capital of france", tmp_path_factory.mktemp("q"), rate=16_000)


async def test_pocketsphinx_hears_espeak_speech(question: bytes) -> None:
    stt = PocketsphinxSTT()
    assert stt.offline
    assert "capital" in await recognize(stt, question)


async def test_openai_compatible_sends_the_utterance_as_wav_and_reads_the_text(
    stub: TranscriptionStub, http: httpx.AsyncClient
) -> None:
    stt = OpenAICompatibleSTT(http, api_key=KEY, base_url=stub.base_url)
    stub.text = "hello tutor"
    recognition = stt.start()
    await recognition.feed(SECOND)
    assert recognition.seconds == pytest.approx(1.0)
    assert await recognition.finish() == "hello tutor"
    assert stub.audio_bytes and stub.audio_bytes[0] > len(SECOND)


@pytest.mark.parametrize(
    ("status", "error"), [(500, UpstreamError), (503, UpstreamError), (401, Rejected)]
)
async def test_openai_compatible_failures(
    stub: TranscriptionStub, http: httpx.AsyncClient, status: int, error: type[Exception]
) -> None:
    stub.fail_next(status)
    stt = OpenAICompatibleSTT(http, api_key=KEY, base_url=stub.base_url)
    with pytest.raises(error):
        await recognize(stt, SECOND)


async def test_openai_compatible_timeout_and_wrong_key(
    stub: TranscriptionStub, http: httpx.AsyncClient
) -> None:
    stub.delay = 2.0
    slow = OpenAICompatibleSTT(
        http, api_key=KEY, base_url=stub.base_url, timeouts=STTTimeouts(result=0.3)
    )
    with pytest.raises(ProviderTimeout):
        await recognize(slow, SECOND)
    wrong = OpenAICompatibleSTT(http, api_key="wrong", base_url=stub.base_url)
    with pytest.raises(Rejected):
        await recognize(wrong, SECOND)


async def test_openai_compatible_that_answers_something_else_is_a_bad_response(
    http: httpx.AsyncClient,
) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>"))
    async with httpx.AsyncClient(transport=transport) as odd:
        stt = OpenAICompatibleSTT(odd, api_key=KEY, base_url="http://odd/v1")
        with pytest.raises(BadResponse):
            await recognize(stt, SECOND)


async def test_deepgram_streams_partials_then_the_final_text(stub: TranscriptionStub) -> None:
    stt = DeepgramSTT(api_key=KEY, base_url=stub.ws_url)
    partials: list[str] = []
    text = await recognize(stt, SECOND * 2, partials)
    assert text == "what is the capital of france"
    assert partials and partials[0] != text  # words arrived while "speaking"
    assert all(text.startswith(p) for p in partials)
    query = stub.queries[-1]
    assert query["encoding"] == "linear16" and query["sample_rate"] == "16000"
    assert query["interim_results"] == "true"
    assert stub.audio_bytes == [len(SECOND) * 2]


async def test_deepgram_refused_dropped_and_stalled_streams(stub: TranscriptionStub) -> None:
    wrong = DeepgramSTT(api_key="wrong", base_url=stub.ws_url)
    with pytest.raises(Rejected):
        await recognize(wrong, SECOND)
    stt = DeepgramSTT(api_key=KEY, base_url=stub.ws_url, timeouts=STTTimeouts(result=0.5))
    stub.fail_mid_stream(after=3, mode="disconnect")
    with pytest.raises(StreamFailed):
        await recognize(stt, SECOND)
    stub.fail_mid_stream(after=3, mode="stall")
    with pytest.raises(ProviderTimeout):
        await recognize(stt, SECOND)
    unreachable = DeepgramSTT(api_key=KEY, base_url="ws://127.0.0.1:9")
    with pytest.raises(UpstreamError):
        await recognize(unreachable, SECOND)
