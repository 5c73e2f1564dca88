"""Any OpenAI-compatible transcription endpoint (OpenAI, hosted or self-hosted Whisper servers).

``POST {base_url}/audio/transcriptions`` (multipart: ``file`` = the utterance as WAV, ``model``,
``response_format=json``) with ``Authorization: Bearer``; the answer is ``{"text": ...}``. One
request per utterance, at its end: no partial text.
"""

from __future__ import annotations

import httpx
from pydantic import BaseModel, ValidationError

from app.providers.errors import BadResponse, ProviderTimeout, UpstreamError, error_for_status
from app.providers.http import request_timeout
from app.providers.stt.base import BYTES_PER_SECOND, Partial, STTTimeouts, wav_bytes


class _Answer(BaseModel):
    text: str


class _Utterance:
    def __init__(self, stt: OpenAICompatibleSTT) -> None:
        self._stt = stt
        self._pcm = bytearray()
        self.seconds = 0.0

    async def feed(self, pcm: bytes) -> None:
        self._pcm += pcm
        self.seconds = len(self._pcm) / BYTES_PER_SECOND

    async def finish(self) -> str:
        return await self._stt.transcribe(bytes(self._pcm))

    async def cancel(self) -> None:
        self._pcm.clear()


class OpenAICompatibleSTT:
    provider = "openai"
    offline = False

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        api_key: str,
        base_url: str = "https://api.openai.com/v1",
        model: str = "whisper-1",
        timeouts: STTTimeouts | None = None,
    ) -> None:
        self._client = client
        self._url = base_url.rstrip("/") + "/audio/transcriptions"
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._model = model
        t = timeouts or STTTimeouts()
        self._timeout = request_timeout(connect=t.connect, read=t.result)

    def start(self, on_partial: Partial | None = None) -> _Utterance:
        return _Utterance(self)

    async def transcribe(self, pcm: bytes) -> str:
        try:
            response = await self._client.post(
                self._url,
                headers=self._headers,
                files={"file": ("utterance.wav", wav_bytes(pcm), "audio/wav")},
                data={"model": self._model, "response_format": "json"},
                timeout=self._timeout,
            )
        except httpx.TimeoutException as exc:
            raise ProviderTimeout("no transcription in time", provider=self.provider) from exc
        except httpx.HTTPError as exc:
            raise UpstreamError(f"unreachable: {exc!r}", provider=self.provider) from exc
        if response.status_code != 200:
            raise error_for_status(
                response.status_code, response.text[:300] or "error", provider=self.provider
            )
        try:
            return _Answer.model_validate_json(response.content).text.strip()
        except ValidationError as exc:
            raise BadResponse("not a transcription", provider=self.provider) from exc
