"""Bad payloads for every client event get an error ack and change nothing; fuzzed payloads never
crash a replica or reach its log as a traceback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import socketio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.clients import Api, SocketClient
from tests.realtime.test_signaling import CANDIDATE, OFFER, open_call
from tests.servers import Replica

EVENTS = ["join", "leave", "offer", "answer", "candidate", "message", "stop"]


def bad_payloads(rid: str, to: str) -> list[tuple[str, Any, str]]:
    big = "x" * (64 * 1024 + 1)
    return [
        *[
            (event, junk, "invalid_payload")
            for event in EVENTS
            for junk in (None, "room", 42, [rid], [])
        ],
        ("join", {"room_id": rid, "surprise": 1}, "invalid_payload"),
        ("join", {"room_id": "../../etc"}, "invalid_payload"),
        ("join", {"room_id": "a" * 65}, "invalid_payload"),
        ("join", {"room_id": rid, "invite_token": "t" * 200}, "invalid_payload"),
        (
            "offer",
            {"room_id": rid, "to": to, "sdp": {"type": "offer", "sdp": big}},
            "invalid_payload",
        ),
        (
            "offer",
            {"room_id": rid, "to": to, "sdp": {"type": "pranswer", "sdp": "v=0"}},
            "invalid_payload",
        ),
        ("offer", {"room_id": rid, "to": to, "sdp": "v=0"}, "invalid_payload"),
        ("answer", {"room_id": rid, "to": to}, "invalid_payload"),
        ("answer", {"room_id": rid, "to": 5, "sdp": OFFER}, "invalid_payload"),
        (
            "candidate",
            {"room_id": rid, "to": to, "candidate": {"candidate": "c" * 2049}},
            "invalid_payload",
        ),
        (
            "candidate",
            {"room_id": rid, "to": to, "candidate": {**CANDIDATE, "sdpMLineIndex": -1}},
            "invalid_payload",
        ),
        (
            "candidate",
            {"room_id": rid, "to": to, "candidate": {**CANDIDATE, "x": 1}},
            "invalid_payload",
        ),
        ("message", {"room_id": rid, "text": "é" * 2049, "client_id": "a"}, "invalid_payload"),
        ("message", {"room_id": rid, "text": "   ", "client_id": "a"}, "invalid_payload"),
        ("message", {"room_id": rid, "text": "hi", "client_id": ""}, "invalid_payload"),
        ("message", {"room_id": rid, "text": "hi", "client_id": "a b"}, "invalid_payload"),
        ("message", {"room_id": rid, "text": ["hi"], "client_id": "a"}, "invalid_payload"),
        ("message", {"room_id": rid, "text": "hi"}, "invalid_payload"),
        (
            "message",
            {"room_id": rid, "text": "hi", "client_id": "a", "sender": {"kind": "ai"}},
            "invalid_payload",
        ),
        ("leave", {"room_id": rid, "user_id": "x"}, "invalid_payload"),
        ("stop", {"room_id": rid, "reply_id": 3}, "invalid_payload"),
    ]


async def test_every_event_rejects_bad_payloads_and_changes_nothing(
    cluster: list[Replica], sockets: Callable[..., SocketClient]
) -> None:
    room, ann, tom, learner, _ = await open_call(cluster, sockets)
    rid = room["room_id"]
    before = await Api(cluster[0].url, learner.token).request("GET", f"/api/rooms/{rid}")
    for event, payload, code in bad_payloads(rid, tom.sid):
        ack = await ann.call(event, payload)
        assert ack["ok"] is False, (event, payload, ack)
        assert ack["error"]["code"] == code, (event, payload, ack)
        assert ack["error"]["message"]
    # Nothing reached the other peer and nothing was stored or changed.
    for event in ("offer", "answer", "candidate", "message", "peer-left", "peer-joined"):
        assert tom.pending(event) == 0, event
    api = Api(cluster[0].url, learner.token)
    assert (await api.request("GET", f"/api/rooms/{rid}/messages")).json()["messages"] == []
    assert (await api.request("GET", f"/api/rooms/{rid}")).json() == before.json()
    for replica in cluster:
        assert "Traceback" not in replica.log_text()


async def test_an_oversized_packet_is_refused_by_the_transport(
    cluster: list[Replica], sockets: Callable[..., SocketClient]
) -> None:
    room, ann, tom, *_ = await open_call(cluster, sockets)
    huge = {
        "room_id": room["room_id"],
        "to": tom.sid,
        "sdp": {"type": "offer", "sdp": "x" * 200_000},
    }
    # The transport refuses the packet and drops the connection: no ack ever comes.
    with pytest.raises(socketio.exceptions.SocketIOError):
        await ann.call("offer", huge, timeout=3)
    assert tom.pending("offer") == 0
    # The replica is fine: a new client works.
    learner = await Api.guest(cluster[0].url, "Again")
    again = await sockets(cluster[0].url, learner.token).connect()
    assert (await again.call("join", {"room_id": (await learner.create_room())["room_id"]}))["ok"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=12,
)


def payloads(rid: str, to: str) -> st.SearchStrategy[Any]:
    plausible = st.fixed_dictionaries(
        {"room_id": st.sampled_from([rid, "", "x" * 70, "nope"]) | st.text(max_size=70)},
        optional={
            "to": st.sampled_from([to, ""]) | json_values,
            "sdp": json_values
            | st.fixed_dictionaries({"type": st.text(max_size=8), "sdp": st.text()}),
            "candidate": json_values,
            "text": st.text(max_size=300) | json_values,
            "client_id": st.text(max_size=80) | json_values,
            "invite_token": json_values,
            "reply_id": json_values,
        },
    )
    return plausible | json_values


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
async def test_fuzzed_events_never_break_a_replica(
    cluster: list[Replica],
    sockets: Callable[..., SocketClient],
    fuzz_call: dict[str, Any],
    data: st.DataObject,
) -> None:
    ann: SocketClient = fuzz_call["ann"]
    event = data.draw(st.sampled_from(EVENTS))
    payload = data.draw(payloads(fuzz_call["rid"], fuzz_call["to"]))
    ack = await ann.call(event, payload)
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), ack
    if not ack["ok"]:
        assert ack["error"]["code"] != "internal", (event, payload, ack)


@pytest.fixture
async def fuzz_call(cluster: list[Replica], sockets: Callable[..., SocketClient]) -> Any:
    room, ann, tom, *_ = await open_call(cluster, sockets)
    yield {"ann": ann, "rid": room["room_id"], "to": tom.sid}
    for replica in cluster:
        assert "Traceback" not in replica.log_text()
