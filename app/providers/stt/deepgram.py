"""Deepgram's live streaming API: partial text while the learner speaks (live captions).

A WebSocket to ``{base_url}/v1/listen?encoding=linear16&sample_rate=16000&interim_results=true``
with ``Authorization: Token <key>``, opened at speech onset. Audio goes up as binary messages;
``Results`` messages come back (``channel.alternatives[0].transcript``, ``is_final``). At the
end of the utterance ``{"type": "CloseStream"}`` makes Deepgram flush its last results and close.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any
from urllib.parse import urlencode

import websockets
from websockets.asyncio.client import ClientConnection, connect

from app.providers.errors import (
    ProviderTimeout,
    Rejected,
    StreamFailed,
    UpstreamError,
)
from app.providers.stt.base import BYTES_PER_SECOND, SAMPLE_RATE, Partial, STTTimeouts


def _transcript(message: dict[str, Any]) -> str:
    alternatives = (message.get("channel") or {}).get("alternatives") or [{}]
    return str(alternatives[0].get("transcript") or "").strip()


class _LiveRecognition:
    def __init__(self, stt: DeepgramSTT, on_partial: Partial | None) -> None:
        self._stt = stt
        self._on_partial = on_partial
        self._finals: list[str] = []
        self._ws: ClientConnection | None = None
        self._opening = asyncio.create_task(self._open())
        self._reader: asyncio.Task[None] | None = None
        self.seconds = 0.0

    async def _open(self) -> None:
        s = self._stt
        try:
            async with asyncio.timeout(s.timeouts.connect):
                self._ws = await connect(
                    s.url, additional_headers=s.headers, open_timeout=None, max_size=2**20
                )
        except TimeoutError as exc:
            raise ProviderTimeout("could not connect in time", provider=s.provider) from exc
        except websockets.InvalidStatus as exc:
            status = exc.response.status_code
            error = Rejected if 400 <= status < 500 else UpstreamError
            raise error(f"refused the stream (HTTP {status})", provider=s.provider) from exc
        except (OSError, websockets.WebSocketException) as exc:
            raise UpstreamError(f"unreachable: {exc!r}", provider=s.provider) from exc
        self._reader = asyncio.create_task(self._read(self._ws))

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(message, dict) or message.get("type") != "Results":
                continue
            text = _transcript(message)
            if message.get("is_final"):
                if text:
                    self._finals.append(text)
                partial = " ".join(self._finals)
            else:
                partial = " ".join([*self._finals, text])
            if self._on_partial is not None and partial:
                await self._on_partial(partial)

    async def feed(self, pcm: bytes) -> None:
        self.seconds += len(pcm) / BYTES_PER_SECOND
        await self._opening
        assert self._ws is not None
        try:
            await self._ws.send(pcm)
        except websockets.ConnectionClosed as exc:
            raise StreamFailed("the stream closed", provider=self._stt.provider) from exc

    async def finish(self) -> str:
        await self._opening
        assert self._ws is not None and self._reader is not None
        provider = self._stt.provider
        try:
            async with asyncio.timeout(self._stt.timeouts.result):
                with contextlib.suppress(websockets.ConnectionClosed):
                    await self._ws.send(json.dumps({"type": "CloseStream"}))
                await self._reader
        except TimeoutError as exc:
            raise ProviderTimeout("no final transcript in time", provider=provider) from exc
        except websockets.ConnectionClosedError as exc:
            raise StreamFailed("the stream was cut", provider=provider) from exc
        finally:
            await self._close()
        return " ".join(self._finals)

    async def cancel(self) -> None:
        self._opening.cancel()
        with contextlib.suppress(BaseException):
            await self._opening
        await self._close()

    async def _close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()


class DeepgramSTT:
    provider = "deepgram"
    offline = False

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = "wss://api.deepgram.com",
        model: str = "nova-3",
        timeouts: STTTimeouts | None = None,
    ) -> None:
        query = urlencode(
            {
                "model": model,
                "encoding": "linear16",
                "sample_rate": SAMPLE_RATE,
                "channels": 1,
                "interim_results": "true",
                "punctuate": "true",
            }
        )
        self.url = f"{base_url.rstrip('/')}/v1/listen?{query}"
        self.headers = {"Authorization": f"Token {api_key}"}
        self.timeouts = timeouts or STTTimeouts()

    def start(self, on_partial: Partial | None = None) -> _LiveRecognition:
        return _LiveRecognition(self, on_partial)
