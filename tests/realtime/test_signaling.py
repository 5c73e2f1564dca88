"""Two people on two different replicas: join, offer/answer/candidates, chat, and the rules
about who may enter and who may speak."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.clients import Api, SocketClient
from tests.servers import Replica

OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n"}
ANSWER = {"type": "answer", "sdp": "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\n"}
CANDIDATE = {
    "candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
}


async def open_call(
    cluster: list[Replica], sockets: Callable[..., SocketClient]
) -> tuple[dict[str, Any], SocketClient, SocketClient, Api, Api]:
    a, b = cluster
    learner = await Api.guest(a.url, "Ann")
    tutor = await Api.guest(b.url, "Tom")
    room = await learner.create_room()
    ann = await sockets(a.url, learner.token).connect()
    tom = await sockets(b.url, tutor.token).connect()
    ack = await ann.call("join", {"room_id": room["room_id"]})
    assert ack["ok"] and ack["peers"] == []
    ack = await tom.call("join", {"room_id": room["room_id"], "invite_token": room["invite_token"]})
    assert ack["ok"], ack
    assert [p["user_id"] for p in ack["peers"]] == [learner.user_id]
    assert ack["you"] == {"sid": tom.sid, "user_id": tutor.user_id, "display_name": "Tom"}
    joined = await ann.next("peer-joined")
    assert joined == {"sid": tom.sid, "user_id": tutor.user_id, "display_name": "Tom"}
    return room, ann, tom, learner, tutor


async def test_call_across_two_replicas(
    cluster: list[Replica], sockets: Callable[..., SocketClient]
) -> None:
    room, ann, tom, learner, _tutor = await open_call(cluster, sockets)
    rid = room["room_id"]

    assert (await ann.call("offer", {"room_id": rid, "to": tom.sid, "sdp": OFFER}))["ok"]
    assert await tom.next("offer") == {"from": ann.sid, "sdp": OFFER}
    assert (await tom.call("answer", {"room_id": rid, "to": ann.sid, "sdp": ANSWER}))["ok"]
    assert await ann.next("answer") == {"from": tom.sid, "sdp": ANSWER}
    assert (await ann.call("candidate", {"room_id": rid, "to": tom.sid, "candidate": CANDIDATE}))[
        "ok"
    ]
    assert await tom.next("candidate") == {"from": ann.sid, "candidate": CANDIDATE}
    assert (await tom.call("candidate", {"room_id": rid, "to": ann.sid, "candidate": CANDIDATE}))[
        "ok"
    ]
    assert (await ann.next("candidate"))["from"] == tom.sid

    ack = await ann.call("message", {"room_id": rid, "text": "Hi Tom!", "client_id": "c-1"})
    assert ack["ok"]
    sent = ack["message"]
    assert sent["sender"] == {"kind": "user", "user_id": learner.user_id, "display_name": "Ann"}
    assert sent["seq"] == 1
    assert await tom.next("message") == sent
    # Your own message comes back in the ack only, not a second time as an event.
    reply = await tom.call("message", {"room_id": rid, "text": "Hello Ann", "client_id": "c-1"})
    assert (await ann.next("message"))["id"] == reply["message"]["id"]
    assert ann.pending("message") == 0

    # Both see the whole conversation over REST, from either replica.
    r = await Api(cluster[1].url, learner.token).request("GET", f"/api/rooms/{rid}/messages")
    assert [m["text"] for m in r.json()["messages"]] == ["Hi Tom!", "Hello Ann"]

    assert (await tom.call("leave", {"room_id": rid}))["ok"]
    assert (await ann.next("peer-left"))["sid"] == tom.sid


async def test_retried_client_id_is_stored_once(
    cluster: list[Replica], sockets: Callable[..., SocketClient]
) -> None:
    room, ann, tom, learner, _ = await open_call(cluster, sockets)
    payload = {"room_id": room["room_id"], "text": "only once", "client_id": "retry-1"}
    first = await ann.call("message", payload)
    second = await ann.call("message", payload)
    assert first["message"] == second["message"]
    r = await Api(cluster[0].url, learner.token).request(
        "GET", f"/api/rooms/{room['room_id']}/messages"
    )
    assert [m["text"] for m in r.json()["messages"]] == ["only once"]
    # The same client_id from another person is their own message, not Ann's.
    other = await tom.call("message", payload)
    assert other["message"]["id"] != first["message"]["id"]


async def test_third_person_gets_room_full(
    cluster: list[Replica], sockets: Callable[..., SocketClient]
) -> None:
    room, ann, _tom, *_ = await open_call(cluster, sockets)
    third = await Api.guest(cluster[0].url, "Eve")
    eve = await sockets(cluster[0].url, third.token).connect()
    ack = await eve.call("join", {"room_id": room["room_id"], "invite_token": room["invite_token"]})
    assert ack == {"ok": False, "error": {"code": "room_full", "message": ack["error"]["message"]}}
    assert ann.pending("peer-joined") == 0
    # Eve got no access from trying: she cannot read the room.
    r = await Api(cluster[0].url, third.token).request(
        "GET", f"/api/rooms/{room['room_id']}/messages"
    )
    assert r.status_code == 404


async def test_without_invite_token_a_stranger_is_refused(
    cluster: list[Replica], sockets: Callable[..., SocketClient]
) -> None:
    learner = await Api.guest(cluster[0].url, "Ann")
    room = await learner.create_room()
    stranger = await Api.guest(cluster[1].url, "Mallory")
    mal = await sockets(cluster[1].url, stranger.token).connect()
    for attempt in (
        {"room_id": room["room_id"]},
        {"room_id": room["room_id"], "invite_token": "guess"},
    ):
        ack = await mal.call("join", attempt)
        assert ack["ok"] is False and ack["error"]["code"] == "room_not_found"
    r = await Api(cluster[1].url, stranger.token).request("GET", f"/api/rooms/{room['room_id']}")
    assert r.status_code == 404
    # And a stranger cannot send into it or signal anyone in it.
    ack = await mal.call("message", {"room_id": room["room_id"], "text": "hi", "client_id": "x"})
    assert ack["error"]["code"] == "not_joined"


async def test_client_cannot_choose_sender_or_from(
    cluster: list[Replica], sockets: Callable[..., SocketClient]
) -> None:
    room, ann, tom, learner, _tutor = await open_call(cluster, sockets)
    rid = room["room_id"]
    forged = {
        "room_id": rid,
        "text": "I am the AI",
        "client_id": "f-1",
        "sender": {"kind": "ai", "display_name": "Tutor"},
    }
    ack = await ann.call("message", forged)
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload"
    ack = await ann.call(
        "offer", {"room_id": rid, "to": tom.sid, "sdp": OFFER, "from": "someone-else"}
    )
    assert ack["ok"] is False
    # Signals always carry the real sender, and cannot target someone outside the room.
    await ann.call("offer", {"room_id": rid, "to": tom.sid, "sdp": OFFER})
    assert (await tom.next("offer"))["from"] == ann.sid
    ack = await ann.call("offer", {"room_id": rid, "to": "not-a-member-sid", "sdp": OFFER})
    assert ack["error"]["code"] == "peer_not_found"
    r = await Api(cluster[0].url, learner.token).request("GET", f"/api/rooms/{rid}/messages")
    assert r.json()["messages"] == []


async def test_invalid_token_is_refused_at_connect(
    cluster: list[Replica], sockets: Callable[..., SocketClient]
) -> None:
    import socketio

    for token in (None, "garbage", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."):
        client = sockets(cluster[0].url, token)
        try:
            await client.connect()
        except socketio.exceptions.ConnectionError:
            refusal = await client.next("connect_error")
            assert refusal["data"] == {"code": "unauthorized"}, refusal
        else:
            raise AssertionError(f"connected with token {token!r}")


async def test_an_ended_room_looks_missing_to_strangers_and_relays_nothing(
    cluster: list[Replica], sockets: Callable[..., SocketClient]
) -> None:
    room, ann, tom, learner, _tutor = await open_call(cluster, sockets)
    rid = room["room_id"]
    ended = await learner.request("DELETE", f"/api/rooms/{rid}")
    assert ended.status_code == 200
    await tom.next("notice")

    # Signaling inside an ended room is refused, and nothing reaches the other side.
    for event, body in (
        ("offer", {"sdp": OFFER}),
        ("answer", {"sdp": ANSWER}),
        ("candidate", {"candidate": CANDIDATE}),
    ):
        ack = await ann.call(event, {"room_id": rid, "to": tom.sid, **body})
        assert ack["error"]["code"] == "room_ended", ack
    assert tom.pending("offer") == tom.pending("answer") == tom.pending("candidate") == 0

    # A stranger cannot tell an ended room from one that never existed.
    stranger = await Api.guest(cluster[1].url, "Eve")
    eve = await sockets(cluster[1].url, stranger.token).connect()
    ended_room = await eve.call("join", {"room_id": rid})
    missing_room = await eve.call("join", {"room_id": "00000000-0000-4000-8000-000000000000"})
    assert ended_room["error"] == missing_room["error"]
    assert ended_room["error"]["code"] == "room_not_found"
    # The people who were in it are told it ended.
    assert (await ann.call("join", {"room_id": rid}))["error"]["code"] == "room_ended"
