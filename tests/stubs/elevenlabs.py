"""An ElevenLabs streaming text-to-speech server.

    POST /v1/text-to-speech/{voice_id}/stream?output_format=mp3_44100_128
    xi-api-key: ...   {"text": "...", "model_id": "eleven_flash_v2_5"}

answers ``audio/mpeg`` (real, silent MPEG-1 Layer III) in chunks, with the ``character-cost`` and
``request-id`` headers the real API sends. The audio lasts ``seconds_per_character`` per
character of text, like speech; ``realtime_factor`` 0.1 streams it ten times faster than it plays.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.stubs.mp3 import frame_seconds, silent_mp3, supports
from tests.stubs.plans import FailMidStream, FailWithStatus, Planner, RecordedRequest
from tests.stubs.server import BackgroundServer

_FORMAT = re.compile(r"^mp3_(\d+)_(\d+)$")


@dataclass
class VoiceProfile:
    first_byte_delay: float = 0.0
    # Time to stream the audio divided by its duration; None: as fast as the socket takes it.
    realtime_factor: float | None = None
    seconds_per_character: float = 0.06
    chunk_seconds: float = 0.1  # audio per chunk (rounded to whole MP3 frames)

    @classmethod
    def benchmark(cls) -> VoiceProfile:
        """The issue's reference profile: first byte after 250 ms, at 0.1x real time."""
        return cls(first_byte_delay=0.25, realtime_factor=0.1)


class DisconnectError(Exception):
    """Raised inside the response body so uvicorn cuts the connection mid-stream."""


class ElevenLabsStub:
    def __init__(self, *, api_key: str | None = None, profile: VoiceProfile | None = None) -> None:
        self.api_key = api_key
        self.profile = profile or VoiceProfile()
        self.requests: list[RecordedRequest] = []
        self._plans = Planner()
        route = Route("/v1/text-to-speech/{voice_id}/stream", self._stream, methods=["POST"])
        self._server = BackgroundServer(Starlette(routes=[route]))
        self.base_url = self._server.url

    # -- controls -------------------------------------------------------------------------------

    def fail_next(self, status: int, *, times: int = 1, retry_after: str | None = None) -> None:
        self._plans.add(FailWithStatus(status, retry_after), times)

    def fail_mid_stream(self, *, after: int, mode: str = "disconnect", times: int = 1) -> None:
        """Fail after ``after`` audio chunks; mode ``disconnect`` or ``stall``."""
        self._plans.add(FailMidStream(after, mode), times)  # type: ignore[arg-type]

    def reset(self) -> None:
        self._plans.clear()
        self.requests.clear()
        self.profile = VoiceProfile()

    @staticmethod
    def audio_for(text: str, profile: VoiceProfile | None = None) -> bytes:
        """Exactly the bytes a request for ``text`` gets (for byte-for-byte assertions)."""
        profile = profile or VoiceProfile()
        return silent_mp3(len(text) * profile.seconds_per_character)

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> ElevenLabsStub:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> ElevenLabsStub:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- the endpoint ---------------------------------------------------------------------------

    async def _stream(self, request: Request) -> Response:
        try:
            body: dict[str, Any] = await request.json()
        except ValueError:
            body = {}
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.url.path,
                query=dict(request.query_params),
                headers=dict(request.headers),
                json=body,
            )
        )
        if self.api_key is not None and request.headers.get("xi-api-key") != self.api_key:
            return _error(401, "invalid_api_key", "Invalid API key")
        plan = self._plans.take()
        if isinstance(plan, FailWithStatus):
            headers = {"Retry-After": plan.retry_after} if plan.retry_after is not None else {}
            return _error(plan.status, "stub_failure", plan.message, headers)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return _error(422, "invalid_text", "text is required")
        match = _FORMAT.match(request.query_params.get("output_format", "mp3_44100_128"))
        if not match or not supports(int(match[1]), int(match[2])):
            return _error(422, "invalid_output_format", "unsupported output_format")
        profile = self.profile
        audio = silent_mp3(
            len(text) * profile.seconds_per_character,
            sample_rate=int(match[1]),
            bitrate_kbps=int(match[2]),
        )
        headers = {"character-cost": str(len(text)), "request-id": uuid.uuid4().hex}
        return StreamingResponse(
            self._chunks(audio, int(match[1]), profile, plan),
            media_type="audio/mpeg",
            headers=headers,
        )

    async def _chunks(
        self, audio: bytes, sample_rate: int, profile: VoiceProfile, plan: FailMidStream | None
    ) -> AsyncIterator[bytes]:
        frame_bytes = len(silent_mp3(0, sample_rate=sample_rate))  # one frame, near enough
        frames_per_chunk = max(1, round(profile.chunk_seconds / frame_seconds(sample_rate)))
        step = frame_bytes * frames_per_chunk
        chunks = [audio[i : i + step] for i in range(0, len(audio), step)]
        chunk_duration = frames_per_chunk * frame_seconds(sample_rate)
        started = time.monotonic()
        for i, chunk in enumerate(chunks):
            if plan is not None and i == plan.after:
                if plan.mode == "stall":
                    await asyncio.sleep(30)  # the client's chunk timeout fires long before this
                raise DisconnectError(plan.message)
            due = started + profile.first_byte_delay
            if profile.realtime_factor:
                due += i * chunk_duration * profile.realtime_factor
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            yield chunk
        if plan is not None:
            raise DisconnectError(plan.message)


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    # The real API's error shape: {"detail": {"status": ..., "message": ...}}.
    return JSONResponse(
        {"detail": {"status": code, "message": message}}, status_code=status, headers=headers
    )
