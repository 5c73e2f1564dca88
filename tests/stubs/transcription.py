"""Speech-to-text stand-ins: an OpenAI-compatible transcription endpoint and Deepgram's live
WebSocket API. Neither really recognizes speech: each answers with ``text`` (set by the test)
after checking the request is what the vendor expects (key, format, audio).

    POST /v1/audio/transcriptions   multipart: file=<WAV>, model, response_format=json
         Authorization: Bearer <key>  → {"text": "..."}
    WS   /v1/listen?encoding=linear16&sample_rate=16000&interim_results=true...
         Authorization: Token <key>; binary audio up; {"type": "Results", "channel":
         {"alternatives": [{"transcript"}]}, "is_final"} down; {"type": "CloseStream"} ends it.
"""

from __future__ import annotations

import asyncio
import json
from types import TracebackType

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.stubs.plans import FailMidStream, FailWithStatus, Planner
from tests.stubs.server import BackgroundServer

# Interim results are sent after every this many bytes of audio (0.25 s at 16 kHz, 16-bit).
INTERIM_EVERY = 8000


class TranscriptionStub:
    def __init__(self, *, api_key: str, text: str = "what is the capital of france") -> None:
        self.api_key = api_key
        self.text = text
        self.delay = 0.0  # before answering (OpenAI) or before the final result (Deepgram)
        self.audio_bytes: list[int] = []  # per request or stream
        self.queries: list[dict[str, str]] = []
        self._plans = Planner()
        app = Starlette(
            routes=[
                Route("/v1/audio/transcriptions", self._transcribe, methods=["POST"]),
                WebSocketRoute("/v1/listen", self._listen),
            ]
        )
        self._server = BackgroundServer(app)
        self.base_url = self._server.url + "/v1"
        self.ws_url = self._server.url.replace("http://", "ws://")

    def fail_next(self, status: int, *, times: int = 1) -> None:
        self._plans.add(FailWithStatus(status), times)

    def fail_mid_stream(self, *, after: int, mode: str = "disconnect") -> None:
        """Deepgram: after ``after`` audio messages, cut the connection or stop answering."""
        self._plans.add(FailMidStream(after, mode))  # type: ignore[arg-type]

    def reset(self) -> None:
        self._plans.clear()
        self.audio_bytes.clear()
        self.queries.clear()
        self.delay = 0.0
        self.text = "what is the capital of france"

    def __enter__(self) -> TranscriptionStub:
        self._server.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.stop()

    async def _transcribe(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return JSONResponse({"error": {"message": "Invalid API key"}}, status_code=401)
        body = await request.body()
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return JSONResponse({"error": {"message": "multipart expected"}}, status_code=400)
        if b"RIFF" not in body or b'name="model"' not in body:
            return JSONResponse({"error": {"message": "file and model needed"}}, status_code=400)
        self.audio_bytes.append(len(body))
        plan = self._plans.take()
        if isinstance(plan, FailWithStatus):
            return JSONResponse({"error": {"message": "stub failure"}}, status_code=plan.status)
        await asyncio.sleep(self.delay)
        return JSONResponse({"text": self.text})

    async def _listen(self, ws: WebSocket) -> None:
        self.queries.append(dict(ws.query_params))
        plan = self._plans.take()
        if ws.headers.get("authorization") != f"Token {self.api_key}" or isinstance(
            plan, FailWithStatus
        ):
            await ws.close(code=1008)  # before accepting: the handshake is refused (HTTP 403)
            return
        await ws.accept()
        received = messages = 0
        words = self.text.split()
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
                if message.get("bytes"):
                    messages += 1
                    before = received
                    received += len(message["bytes"])
                    if isinstance(plan, FailMidStream) and messages >= plan.after:
                        if plan.mode == "disconnect":
                            await ws.close(code=1011)
                            return
                        continue  # stall: take audio, answer nothing
                    if received // INTERIM_EVERY > before // INTERIM_EVERY:
                        heard = words[: min(len(words), received // INTERIM_EVERY)]
                        await ws.send_text(_results(" ".join(heard), final=False))
                elif message.get("text") and json.loads(message["text"]).get("type") == (
                    "CloseStream"
                ):
                    if isinstance(plan, FailMidStream):
                        continue
                    self.audio_bytes.append(received)
                    await asyncio.sleep(self.delay)
                    await ws.send_text(_results(self.text, final=True))
                    await ws.send_text(json.dumps({"type": "Metadata", "duration": 1.0}))
                    await ws.close()
                    return
        except WebSocketDisconnect:
            return


def _results(text: str, *, final: bool) -> str:
    return json.dumps(
        {
            "type": "Results",
            "is_final": final,
            "speech_final": final,
            "channel": {"alternatives": [{"transcript": text, "confidence": 0.9}]},
        }
    )
