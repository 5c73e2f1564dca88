"""Audio conversions with PyAV (FFmpeg): clips to 48 kHz mono PCM for the outbound track, and
the inbound track's frames to 16 kHz mono PCM for the VAD and the recognizer."""

from __future__ import annotations

import io
from typing import Any

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


class StreamDecoder:
    """A clip as its chunks arrive, as 48 kHz mono s16 PCM, so the call hears a sentence while
    the rest of it is still streaming. MP3 (ElevenLabs) is parsed frame by frame; anything else
    (espeak-ng's WAV, made locally in an instant) is decoded whole when it ends."""

    def __init__(self, content_type: str) -> None:
        self._codec = av.CodecContext.create("mp3", "r") if content_type == "audio/mpeg" else None
        self._resampler = AudioResampler(format="s16", layout="mono", rate=OUT_RATE)
        self._whole = bytearray()

    def decode(self, chunk: bytes) -> bytes:
        if self._codec is None:
            self._whole += chunk
            return b""
        return self._convert(self._codec.parse(chunk))

    def flush(self) -> bytes:
        if self._codec is None:
            return decode_clip(bytes(self._whole)) if self._whole else b""
        out = self._convert([*self._codec.parse(None), None])
        return out + b"".join(_pcm(f) for f in self._resampler.resample(None))

    def _convert(self, packets: list[Any]) -> bytes:
        assert self._codec is not None
        out = bytearray()
        for packet in packets:
            for frame in self._codec.decode(packet):
                for converted in self._resampler.resample(frame):
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
