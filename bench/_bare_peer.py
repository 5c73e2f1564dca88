"""A bare aiortc endpoint, the capacity baseline of bench/voice.py: per call it receives the
client's audio (decoded, then dropped) and sends a 48 kHz tone paced in real time; nothing else.

    python -m bench._bare_peer PORT      POST /offer {"sdp"} -> {"sdp"} (the complete answer)
"""

from __future__ import annotations

import array
import asyncio
import fractions
import math
import sys
import time
from typing import Any

import uvicorn
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from av.audio.frame import AudioFrame
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

RATE = 48_000
FRAME = 960
TONE = array.array(
    "h", (int(3000 * math.sin(2 * math.pi * 440 * i / RATE)) for i in range(FRAME))
).tobytes()


class Tone(MediaStreamTrack):
    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._start: float | None = None
        self._pts = 0

    async def recv(self) -> AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._pts += FRAME
            wait = self._start + self._pts / RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        frame = AudioFrame(format="s16", layout="mono", samples=FRAME)
        frame.planes[0].update(TONE)
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, RATE)
        return frame


peers: set[RTCPeerConnection] = set()


async def drain(track: Any) -> None:
    while True:
        try:
            await track.recv()
        except Exception:
            return


async def offer(request: Request) -> JSONResponse:
    body = await request.json()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    peers.add(pc)
    pc.on("track", lambda track: asyncio.ensure_future(drain(track)))
    await pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type="offer"))
    pc.addTrack(Tone())
    await pc.setLocalDescription(await pc.createAnswer())
    return JSONResponse({"sdp": pc.localDescription.sdp})


def main() -> None:
    app = Starlette(routes=[Route("/offer", offer, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")


if __name__ == "__main__":
    main()
