"""Pipecat's SmallWebRTC pipeline, a capacity baseline of bench/voice.py beside the bare aiortc
endpoint, answering the same aiortc clients. Per call, one pipeline:

    SmallWebRTCTransport.input() (the client's 48 kHz Opus, decoded and resampled to 16 kHz)
    -> VADProcessor(SileroVADAnalyzer) (the ONNX model inside the pipecat-ai wheel)
    -> ToneReply (a TTS stand-in: for every input frame, as long a 440 Hz tone at 48 kHz)
    -> SmallWebRTCTransport.output() (48 kHz, paced and Opus-encoded by the transport)

No STT, LLM or TTS service: like our replica in the capacity run, nothing is transcribed. Runs in
the `bench-pipecat` extra's venv (``.venv-pipecat``), not ours:

    .venv-pipecat/bin/python bench/pipecat_peer.py PORT   POST /offer {"sdp"} -> {"sdp"}
"""

from __future__ import annotations

import array
import asyncio
import math
import sys
from typing import Any

from aiohttp import web
from loguru import logger
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.frames.frames import Frame, InputAudioRawFrame, OutputAudioRawFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.audio.vad_processor import VADProcessor
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.transports.base_transport import TransportParams
from pipecat.transports.smallwebrtc.connection import SmallWebRTCConnection
from pipecat.transports.smallwebrtc.transport import SmallWebRTCTransport
from pipecat.workers.runner import WorkerRunner

IN_RATE = 16_000
OUT_RATE = 48_000
# One second of tone, sliced per frame: no per-frame synthesis cost, as a TTS clip would not have.
TONE = array.array(
    "h", (int(3000 * math.sin(2 * math.pi * 440 * i / OUT_RATE)) for i in range(OUT_RATE))
).tobytes()


class ToneReply(FrameProcessor):  # type: ignore[misc]
    """Answers every input audio frame with as long a tone, so the output track carries audio
    (not the transport's silence filler) at the pace the client speaks."""

    def __init__(self) -> None:
        super().__init__()
        self._at = 0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            size = frame.num_frames * OUT_RATE // frame.sample_rate * 2
            if self._at + size > len(TONE):
                self._at = 0
            chunk = TONE[self._at : self._at + size]
            self._at += size
            await self.push_frame(OutputAudioRawFrame(chunk, OUT_RATE, 1))
        else:
            await self.push_frame(frame, direction)


runs: set[asyncio.Task[None]] = set()


async def start_pipeline(connection: SmallWebRTCConnection) -> None:
    transport = SmallWebRTCTransport(
        connection,
        TransportParams(
            audio_in_enabled=True,
            audio_in_sample_rate=IN_RATE,
            audio_out_enabled=True,
            audio_out_sample_rate=OUT_RATE,
        ),
    )
    pipeline = Pipeline(
        [
            transport.input(),
            VADProcessor(vad_analyzer=SileroVADAnalyzer(sample_rate=IN_RATE)),
            ToneReply(),
            transport.output(),
        ]
    )
    task = PipelineWorker(
        pipeline,
        params=PipelineParams(audio_in_sample_rate=IN_RATE, audio_out_sample_rate=OUT_RATE),
        idle_timeout_secs=None,
        enable_rtvi=False,
    )

    @transport.event_handler("on_client_disconnected")  # type: ignore[untyped-decorator]
    async def _gone(_transport: Any, _client: Any) -> None:
        await task.cancel()

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(task)
    run = asyncio.create_task(runner.run())
    runs.add(run)
    run.add_done_callback(runs.discard)


async def offer(request: web.Request) -> web.Response:
    body = await request.json()
    connection = SmallWebRTCConnection(ice_servers=[])
    await connection.initialize(sdp=body["sdp"], type="offer")
    await start_pipeline(connection)
    answer = connection.get_answer()
    return web.json_response({"sdp": answer["sdp"]})


def main() -> None:
    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    app = web.Application()
    app.router.add_post("/offer", offer)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, shutdown_timeout=1)


if __name__ == "__main__":
    main()
