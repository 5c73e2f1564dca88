"""Audio conversions with PyAV (FFmpeg): clips to 48 kHz mono PCM for the outbound track, and
the inbound track's frames to 16 kHz mono PCM for the VAD and the recognizer."""

from __future__ import annotations

import io
from typing import Any

import av
from av.audio.codeccontext import AudioCodecContext
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
    (espeak-ng's WAV, made locally in an instant) is decoded whole when it ends. The format is
    told by the first bytes, not by the declared type (a WAV labelled audio/mpeg still plays)."""

    def __init__(self) -> None:
        self._codec: AudioCodecContext | None = None
        self._whole: bytearray | None = None  # not MP3: the clip so far
        self._resampler = AudioResampler(format="s16", layout="mono", rate=OUT_RATE)

    def decode(self, chunk: bytes) -> bytes:
        if self._codec is None and self._whole is None and chunk:
            if _is_mp3(chunk):
                self._codec = av.CodecContext.create("mp3", "r")
            else:
                self._whole = bytearray()
        if self._whole is not None:
            self._whole += chunk
            return b""
        return self._convert(self._codec.parse(chunk)) if self._codec is not None else b""

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


def _is_mp3(head: bytes) -> bool:
    """An ID3 tag or an MPEG audio frame sync (11 set bits)."""
    return head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _pcm(frame: AudioFrame) -> bytes:
    return bytes(frame.planes[0])[: frame.samples * 2]
