"""The tutor-call signaling contract (tutor-offer, tutor-candidate, tutor-leave, tutor-ask), as
any client sees it, with an aiortc peer instead of a browser."""

from __future__ import annotations

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription

from tests.clients import SocketClient
from tests.servers import Replica
from tests.voice.conftest import Join
from tests.voice.peer import TutorCall


async def test_an_offer_gets_a_complete_answer_and_the_tutor_voice_track(
    voice_replica: Replica, join: Join
) -> None:
    me = await join(voice_replica)
    call = TutorCall(me.socket, me.room_id)
    try:
        ack = await call.offer()
        assert ack["ok"] and ack["sdp"]["type"] == "answer"
        assert "a=candidate:" in ack["sdp"]["sdp"]  # gathered before answering
        assert "m=audio" in ack["sdp"]["sdp"]
        await call.pc.setRemoteDescription(RTCSessionDescription(**ack["sdp"]))
        while call.frames == 0:  # the tutor's track flows (silence until it speaks)
            await me.socket.sio.sleep(0.05)
    finally:
        await call.close()


@pytest.mark.parametrize(
    "sdp",
    ["", "v=0\r\nnot an offer\r\n", "x" * 70_000],
    ids=["empty", "garbage", "too-large"],
)
async def test_a_bad_offer_is_refused_as_invalid_payload(
    voice_replica: Replica, join: Join, sdp: str
) -> None:
    me = await join(voice_replica)
    ack = await me.socket.call(
        "tutor-offer", {"room_id": me.room_id, "sdp": {"type": "offer", "sdp": sdp}}
    )
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload"


async def test_an_offer_without_audio_is_refused(voice_replica: Replica, join: Join) -> None:
    me = await join(voice_replica)
    pc = RTCPeerConnection()
    pc.createDataChannel("x")
    await pc.setLocalDescription(await pc.createOffer())
    ack = await me.socket.call(
        "tutor-offer",
        {"room_id": me.room_id, "sdp": {"type": "offer", "sdp": pc.localDescription.sdp}},
    )
    await pc.close()
    assert ack["error"]["code"] == "invalid_payload" and "audio" in ack["error"]["message"]


async def test_an_offer_for_a_room_not_joined_is_room_not_found(
    voice_replica: Replica, join: Join
) -> None:
    me = await join(voice_replica)
    other = await join(voice_replica, name="Someone else")
    call = TutorCall(me.socket, other.room_id)
    try:
        ack = await call.offer()
        assert ack["ok"] is False and ack["error"]["code"] == "room_not_found"
        ack = await me.socket.call(
            "tutor-candidate",
            {"room_id": other.room_id, "candidate": {"candidate": "", "sdpMid": "0"}},
        )
        assert ack["error"]["code"] == "room_not_found"
    finally:
        await call.pc.close()


async def test_without_a_token_there_is_no_connection_to_signal_on(
    voice_replica: Replica, sockets: object
) -> None:
    client = SocketClient(voice_replica.url, None)
    with pytest.raises(Exception, match=r"(?i)connect"):
        await client.connect(wait_timeout=5)


async def test_candidates_may_arrive_before_the_offer_and_bad_ones_are_refused(
    voice_replica: Replica, join: Join
) -> None:
    me = await join(voice_replica)
    call = TutorCall(me.socket, me.room_id)
    try:
        await call.pc.setLocalDescription(await call.pc.createOffer())
        line = next(
            line[2:]
            for line in call.pc.localDescription.sdp.splitlines()
            if line.startswith("a=candidate:")
        )
        early = {"candidate": line, "sdpMid": "0", "sdpMLineIndex": 0}
        ack = await me.socket.call("tutor-candidate", {"room_id": me.room_id, "candidate": early})
        assert ack == {"ok": True}
        bad = {"candidate": "candidate:nonsense", "sdpMid": "0"}
        ack = await me.socket.call("tutor-candidate", {"room_id": me.room_id, "candidate": bad})
        assert ack["error"]["code"] == "invalid_payload"
        ack = await me.socket.call(
            "tutor-offer",
            {
                "room_id": me.room_id,
                "sdp": {"type": "offer", "sdp": call.pc.localDescription.sdp},
            },
        )
        assert ack["ok"], ack
    finally:
        await call.close()


async def test_over_the_session_cap_voice_is_busy_and_text_still_works(
    voice_replica: Replica, join: Join
) -> None:
    calls = []
    try:
        for _ in range(3):  # HOLO_VOICE_MAX_SESSIONS in this replica
            member = await join(voice_replica)
            call = TutorCall(member.socket, member.room_id)
            assert (await call.offer())["ok"]
            calls.append(call)
        late = await join(voice_replica)
        refused = TutorCall(late.socket, late.room_id)
        ack = await refused.offer()
        await refused.pc.close()
        assert ack["ok"] is False and ack["error"]["code"] == "voice_busy"
        # Full, and still ready: text and the calls in progress go on here.
        ready = await late.api.request("GET", "/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "voice_sessions": 3, "voice_capacity": 3}
        sent = await late.socket.call(
            "message", {"room_id": late.room_id, "text": "hello", "client_id": "c1"}
        )
        assert sent["ok"], sent
        # One leaves: there is room again.
        await calls.pop().close()
        again = TutorCall(late.socket, late.room_id)
        assert (await again.offer())["ok"]
        calls.append(again)
    finally:
        for call in calls:
            await call.close()


async def test_leave_then_rejoin_and_one_peer_per_socket(
    voice_replica: Replica, join: Join
) -> None:
    me = await join(voice_replica)
    first = TutorCall(me.socket, me.room_id)
    second = TutorCall(me.socket, me.room_id)
    try:
        assert (await first.offer())["ok"]
        # A second offer on the same socket replaces the first peer (it does not add one).
        assert (await second.offer())["ok"]
        assert await me.metric("holo_voice_sessions") == 1
        assert await me.socket.call("tutor-leave", {"room_id": me.room_id}) == {"ok": True}
        assert await me.metric("holo_voice_sessions") == 0
        third = TutorCall(me.socket, me.room_id)
        await third.start()
        assert await me.metric("holo_voice_sessions") == 1
        await third.close()
        # Leaving the room closes the peer too.
        fourth = TutorCall(me.socket, me.room_id)
        assert (await fourth.offer())["ok"]
        await me.socket.call("leave", {"room_id": me.room_id})
        assert await me.metric("holo_voice_sessions") == 0
        await fourth.pc.close()
    finally:
        await first.pc.close()
        await second.pc.close()


async def test_a_peer_that_sends_no_audio_is_closed_with_a_notice(
    voice_replica: Replica, join: Join
) -> None:
    me = await join(voice_replica)
    call = TutorCall(me.socket, me.room_id)
    try:
        await call.start()
        call.mic.unplugged.set()  # HOLO_VOICE_IDLE_TIMEOUT_SECONDS is 5 on this replica
        notice = await me.socket.next("notice", timeout=20)
        assert notice["code"] == "voice_idle"
        assert await me.metric("holo_voice_sessions") == 0
        assert (
            await me.socket.call("message", {"room_id": me.room_id, "text": "hi", "client_id": "t"})
        )["ok"]
    finally:
        await call.close()
