"""ElevenLabs' HTTP streaming text to speech.

``POST {base_url}/v1/text-to-speech/{voice_id}/stream?output_format=mp3_44100_128`` with the
``xi-api-key`` header and ``{"text", "model_id"}``; the body is the audio as it is generated, and
the ``character-cost`` response header says what the request was billed.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from urllib.parse import quote

import httpx

from app.providers.errors import BadResponse, Rejected
from app.providers.http import StreamingHTTP, StreamTimeouts
from app.providers.observer import NullObserver, ProviderObserver
from app.providers.retry import RetryPolicy
from app.providers.tts.base import Speech, TTSTimeouts


def content_type_for(output_format: str) -> str:
    codec = output_format.split("_", 1)[0]
    types = {"mp3": "audio/mpeg", "opus": "audio/ogg", "ulaw": "audio/basic", "pcm": "audio/L16"}
    if codec not in types:
        raise ValueError(f"unknown ElevenLabs output_format {output_format!r}")
    return types[codec]


# Rachel, one of ElevenLabs' premade voices: for a companion the catalogue gives no voice.
DEFAULT_VOICE = "21m00Tcm4TlvDq8ikWAM"


class ElevenLabsTTS:
    provider = "elevenlabs"
    enabled = True
    billed = True

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        api_key: str,
        base_url: str = "https://api.elevenlabs.io",
        model_id: str = "eleven_flash_v2_5",
        output_format: str = "mp3_44100_128",
        timeouts: TTSTimeouts | None = None,
        retry: RetryPolicy | None = None,
        observer: ProviderObserver | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.content_type = content_type_for(output_format)
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._headers = {"xi-api-key": api_key, "Accept": self.content_type}
        self._model_id = model_id
        self._output_format = output_format
        self._observer: ProviderObserver = observer or NullObserver()
        t = timeouts or TTSTimeouts()
        self._http = StreamingHTTP(
            client,
            provider=self.provider,
            timeouts=StreamTimeouts(
                connect=t.connect, first=t.first_byte, between=t.between_chunks
            ),
            retry=retry or RetryPolicy(),
            observer=self._observer,
            clock=clock,
            first_noun="audio",
            noun="audio",
        )

    def voice_for(self, voices: Mapping[str, str], language: str) -> str:
        return voices.get(self.provider, DEFAULT_VOICE)

    @asynccontextmanager
    async def synthesize(self, text: str, voice_id: str) -> AsyncIterator[Speech]:
        if not text.strip():
            raise Rejected("nothing to say", provider=self.provider)

        def request() -> httpx.Request:
            return self._client.build_request(
                "POST",
                f"{self._base_url}/v1/text-to-speech/{quote(voice_id, safe='')}/stream",
                params={"output_format": self._output_format},
                json={"text": text, "model_id": self._model_id},
                headers=self._headers,
                timeout=self._http.http_timeout,
            )

        async with self._http.open(request, self._audio) as stream:
            ttfb = stream.first_seconds or 0.0
            self._observer.first_byte(provider=self.provider, seconds=ttfb)
            cost = stream.response.headers.get("character-cost", "")
            yield Speech(
                provider=self.provider,
                content_type=self.content_type,
                characters=len(text),
                characters_billed=int(cost) if cost.isdigit() else len(text),
                chunks=aiter(stream),
                ttfb_seconds=ttfb,
            )

    async def _audio(self, response: httpx.Response) -> AsyncIterator[bytes]:
        received = response.headers.get("content-type", "")
        if not received.startswith("audio/"):
            raise BadResponse(f"expected audio, got {received!r}", provider=self.provider)
        empty = True
        async for chunk in response.aiter_bytes():
            if chunk:
                empty = False
                yield chunk
        if empty:
            raise BadResponse("no audio in the response", provider=self.provider)
