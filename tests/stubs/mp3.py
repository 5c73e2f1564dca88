"""Valid MP3 audio without an encoder: MPEG-1 Layer III frames whose side information is all
zero, which every decoder plays as silence. Browsers, mutagen and ffmpeg accept the stream;
the duration is exact (1152 samples per frame)."""

from __future__ import annotations

SAMPLES_PER_FRAME = 1152
_BITRATES_KBPS = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_SAMPLE_RATES = {44100: 0b00, 48000: 0b01, 32000: 0b10}
_MONO_SIDE_INFO_BYTES = 17


def supports(sample_rate: int, bitrate_kbps: int) -> bool:
    return sample_rate in _SAMPLE_RATES and bitrate_kbps in _BITRATES_KBPS


def silent_mp3(seconds: float, *, sample_rate: int = 44100, bitrate_kbps: int = 128) -> bytes:
    """Mono silence of at least ``seconds`` (rounded up to whole frames, at least one)."""
    if not supports(sample_rate, bitrate_kbps):
        raise ValueError(f"unsupported MPEG-1 Layer III format {sample_rate} Hz {bitrate_kbps}k")
    frames = max(1, -(-int(seconds * sample_rate) // SAMPLES_PER_FRAME))
    bitrate_index = _BITRATES_KBPS.index(bitrate_kbps) + 1
    out = bytearray()
    # Padding follows the standard's running remainder so the average bitrate is exact.
    numerator = 144 * bitrate_kbps * 1000
    remainder = 0
    for _ in range(frames):
        remainder += numerator % sample_rate
        padding = 1 if remainder >= sample_rate else 0
        remainder -= padding * sample_rate
        length = numerator // sample_rate + padding
        header = bytes(
            (
                0xFF,
                0xFB,  # sync, MPEG-1, Layer III, no CRC
                (bitrate_index << 4) | (_SAMPLE_RATES[sample_rate] << 2) | (padding << 1),
                0xC0,  # mono, no emphasis
            )
        )
        out += header + bytes(length - len(header))
    return bytes(out)


def frame_seconds(sample_rate: int = 44100) -> float:
    return SAMPLES_PER_FRAME / sample_rate
