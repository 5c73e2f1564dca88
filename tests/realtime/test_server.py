"""The fast decoder of chat events agrees with the protocol guard's parser on what it takes,
and leaves everything else to it."""

from __future__ import annotations

import pytest

from app.realtime.server import parse_event, parse_packet

TAKEN = [
    '2["message",{"room_id":"r","text":"hi","client_id":"c1"}]',
    '217["message",{"text":"é €"}]',
    '20["join",{}]',
    "2" + "9" * 100 + '["ping"]',
    '2["stop"]',
]
LEFT = [
    '2/admin,3["message",{}]',  # another namespace
    '21-["message",{}]',  # an attachment count
    "2" + "9" * 101 + '["x"]',  # an id too long
    '23["message",{"_placeholder":true,"num":0}]',  # an attachment placeholder
    "2[1,2]",  # no event name
    "2[]",
    '23["message",NaN]',  # what only the standard library reads
    '23["message",',  # cut short
    '3["ack"]',  # not an EVENT
    '0{"token":"t"}',
    "2",
    "",
]


@pytest.mark.parametrize("data", TAKEN)
def test_an_event_is_read_as_the_guard_reads_it(data: str) -> None:
    pkt = parse_packet(data)
    assert parse_event(data) == (pkt.id, pkt.data)


@pytest.mark.parametrize("data", LEFT)
def test_anything_else_is_left_to_the_guard(data: str) -> None:
    assert parse_event(data) is None
