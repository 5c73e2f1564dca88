"""The websocket frames the direct write path builds are the ones websockets would send."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from app.realtime.wsprotocol import text_frame


@pytest.mark.parametrize(
    "text",
    ["", "2", "a" * 125, "a" * 126, "é" * 63, "a" * 65535, "a" * 65536, "€" * 30000],
    ids=["empty", "one", "125", "126", "multibyte-126", "65535", "65536", "multibyte-90000"],
)
def test_a_text_frame_is_what_websockets_would_write(text: str) -> None:
    expected = Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])
    assert text_frame(text) == expected
