"""ElevenLabs' HTTP streaming text to speech.

``POST {base_url}/v1/text-to-speech/{voice_id}/stream?output_format=mp3_44100_128`` with the
``xi-api-key`` header and ``{"text", "model_id"}``; the body is the audio as it is generated, and
the ``character-cost`` response header says what the request was billed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from app.providers.errors import (
    BadResponse,
    ProviderTimeout,
    Rejected,
    StreamFailed,
    UpstreamError,
)
from app.providers.http import error_from_response, request_timeout
from app.providers.observer import NullObserver, ProviderObserver
from app.providers.retry import RetryPolicy, retrying
from app.providers.tts.base import Speech, TTSTimeouts


def content_type_for(output_format: str) -> str:
    codec = output_format.split("_", 1)[0]
    types = {"mp3": "audio/mpeg", "opus": "audio/ogg", "ulaw": "audio/basic", "pcm": "audio/L16"}
    if codec not in types:
        raise ValueError(f"unknown ElevenLabs output_format {output_format!r}")
    return types[codec]


@dataclass
class _OpenStream:
    response: httpx.Response
    chunks: AsyncIterator[bytes]
    first: bytes


class ElevenLabsTTS:
    provider = "elevenlabs"
    enabled = True

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
        self._timeouts = timeouts or TTSTimeouts()
        self._retry = retry or RetryPolicy()
        self._observer: ProviderObserver = observer or NullObserver()
        self._clock = clock
        self._http_timeout = request_timeout(
            connect=self._timeouts.connect,
            read=max(self._timeouts.first_byte, self._timeouts.between_chunks),
        )

    @asynccontextmanager
    async def synthesize(self, text: str, voice_id: str) -> AsyncIterator[Speech]:
        if not text.strip():
            raise Rejected("nothing to say", provider=self.provider)
        started = self._clock()
        opened: _OpenStream | None = None
        async for attempt in retrying(self._retry, observer=self._observer):
            with attempt:
                opened = await self._open(text, voice_id)
        assert opened is not None  # tenacity re-raises the last error otherwise
        try:
            ttfb = self._clock() - started
            self._observer.first_byte(provider=self.provider, seconds=ttfb)
            cost = opened.response.headers.get("character-cost", "")
            yield Speech(
                provider=self.provider,
                content_type=self.content_type,
                characters=len(text),
                characters_billed=int(cost) if cost.isdigit() else len(text),
                chunks=self._rest(opened),
                ttfb_seconds=ttfb,
            )
        finally:
            await opened.response.aclose()

    async def _open(self, text: str, voice_id: str) -> _OpenStream:
        """One attempt: send, check the status and type, wait for the first audio bytes."""
        request = self._client.build_request(
            "POST",
            f"{self._base_url}/v1/text-to-speech/{quote(voice_id, safe='')}/stream",
            params={"output_format": self._output_format},
            json={"text": text, "model_id": self._model_id},
            headers=self._headers,
            timeout=self._http_timeout,
        )
        response: httpx.Response | None = None
        try:
            async with asyncio.timeout(self._timeouts.first_byte):
                try:
                    response = await self._client.send(request, stream=True)
                except httpx.TimeoutException as exc:
                    raise ProviderTimeout("connection timed out", provider=self.provider) from exc
                except httpx.TransportError as exc:
                    raise UpstreamError(f"unreachable: {exc!r}", provider=self.provider) from exc
                if response.status_code != 200:
                    raise await error_from_response(response, provider=self.provider)
                received = response.headers.get("content-type", "")
                if not received.startswith("audio/"):
                    raise BadResponse(f"expected audio, got {received!r}", provider=self.provider)
                chunks = response.aiter_bytes()
                first = b""
                while not first:
                    try:
                        first = await anext(chunks)
                    except StopAsyncIteration:
                        raise BadResponse(
                            "no audio in the response", provider=self.provider
                        ) from None
                return _OpenStream(response, chunks, first)
        except TimeoutError as exc:
            if response is not None:
                await response.aclose()
            raise ProviderTimeout(
                f"no audio within {self._timeouts.first_byte:g}s", provider=self.provider
            ) from exc
        except httpx.HTTPError as exc:
            if response is not None:
                await response.aclose()
            raise UpstreamError(f"connection lost: {exc!r}", provider=self.provider) from exc
        except BaseException:
            if response is not None:
                await response.aclose()
            raise

    async def _rest(self, opened: _OpenStream) -> AsyncIterator[bytes]:
        yield opened.first
        while True:
            try:
                async with asyncio.timeout(self._timeouts.between_chunks):
                    chunk = await anext(opened.chunks)
            except StopAsyncIteration:
                return
            except TimeoutError as exc:
                raise StreamFailed(
                    f"no audio within {self._timeouts.between_chunks:g}s", provider=self.provider
                ) from exc
            except httpx.HTTPError as exc:
                raise StreamFailed(f"connection lost: {exc!r}", provider=self.provider) from exc
            yield chunk
