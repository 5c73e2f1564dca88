"""WAV header repair for engines that stream a WAV to a pipe.

espeak-ng cannot seek back on stdout, so it writes 0x7FFFF000-ish placeholders as the RIFF and
data sizes. Players vary in how they treat that; once the whole clip is in memory we write the
true sizes so every player (and Python's ``wave``) reads the exact length.
"""

from __future__ import annotations

import struct


def fix_wav_sizes(data: bytes) -> bytes:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE stream")
    out = bytearray(data)
    struct.pack_into("<I", out, 4, len(out) - 8)
    offset = 12
    while offset + 8 <= len(out):
        chunk_id = bytes(out[offset : offset + 4])
        (size,) = struct.unpack_from("<I", out, offset + 4)
        if chunk_id == b"data":
            struct.pack_into("<I", out, offset + 4, len(out) - offset - 8)
            return bytes(out)
        offset += 8 + size + (size & 1)
    raise ValueError("WAV stream has no data chunk")
