"""Audio conversions with PyAV (FFmpeg): clips to 48 kHz mono PCM for the outbound track, and
the inbound track's frames to 16 kHz mono PCM for the VAD and the recognizer."""

from __future__ import annotations

import io

import av
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler

OUT_RATE = 48_000
IN_RATE = 16_000


def decode_clip(data: bytes) -> bytes:
    """A whole clip (WAV from espeak-ng, MP3 from ElevenLabs, ...) as 48 kHz mono s16 PCM."""
    resampler = AudioResampler(format="s16", layout="mono", rate=OUT_RATE)
    out = bytearray()
    with av.open(io.BytesIO(data), mode="r") as container:
        for frame in container.decode(audio=0):
            for converted in resampler.resample(frame):
                out += _pcm(converted)
    for converted in resampler.resample(None):
        out += _pcm(converted)
    return bytes(out)


class Downsampler:
    """The inbound track's frames (48 kHz, often stereo) as 16 kHz mono s16 PCM."""

    def __init__(self) -> None:
        self._resampler = AudioResampler(format="s16", layout="mono", rate=IN_RATE)

    def convert(self, frame: AudioFrame) -> bytes:
        return b"".join(_pcm(f) for f in self._resampler.resample(frame))


def _pcm(frame: AudioFrame) -> bytes:
    return bytes(frame.planes[0])[: frame.samples * 2]
