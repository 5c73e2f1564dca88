"""A learner and a second participant in one room, and the events of one tutor reply."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.clients import Api, SocketClient

TUTOR_EVENTS = ("ai-delta", "ai-audio", "ai-done", "ai-error", "notice")


@dataclass
class TutorRoom:
    room_id: str
    learner_api: Api
    learner: SocketClient
    friend: SocketClient | None = None

    @property
    def sockets(self) -> list[SocketClient]:
        return [self.learner] + ([self.friend] if self.friend else [])

    async def say(self, text: str, client_id: str) -> dict[str, Any]:
        # With a second person in the room, only a message addressed to the tutor is answered.
        ack = await self.learner.call(
            "message",
            {"room_id": self.room_id, "text": text, "client_id": client_id, "to_tutor": True},
        )
        assert ack["ok"], ack
        message: dict[str, Any] = ack["message"]
        return message

    async def messages(self) -> list[dict[str, Any]]:
        r = await self.learner_api.request("GET", f"/api/rooms/{self.room_id}/messages")
        assert r.status_code == 200, r.text
        listed: list[dict[str, Any]] = r.json()["messages"]
        return listed


async def open_room(
    sockets: Callable[..., SocketClient],
    learner_url: str,
    friend_url: str | None = None,
    companion: str = "ada-math",
) -> TutorRoom:
    api = await Api.guest(learner_url, "Ann")
    room = await api.create_room(companion)
    learner = await sockets(learner_url, api.token).connect()
    ack = await learner.call("join", {"room_id": room["room_id"]})
    assert ack["ok"], ack
    friend = None
    if friend_url is not None:
        other = await Api.guest(friend_url, "Bea")
        friend = await sockets(friend_url, other.token).connect()
        ack = await friend.call(
            "join", {"room_id": room["room_id"], "invite_token": room["invite_token"]}
        )
        assert ack["ok"], ack
        await learner.next("peer-joined")
    return TutorRoom(room["room_id"], api, learner, friend)


@dataclass
class ReplyEvents:
    """Everything one socket received up to and including a reply's end (ai-done or ai-error
    with nothing stored), in arrival order per event name."""

    deltas: list[dict[str, Any]] = field(default_factory=list)
    audio: list[dict[str, Any]] = field(default_factory=list)
    notices: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    done: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        return "".join(d["text"] for d in self.deltas)

    @property
    def message(self) -> dict[str, Any]:
        assert self.done is not None, "the reply did not finish"
        message: dict[str, Any] = self.done["message"]
        return message


def drain(sock: SocketClient, events: ReplyEvents) -> None:
    """Move what already arrived into ``events`` (Socket.IO keeps one socket's events in order,
    so everything sent before the event we awaited is queued by now)."""
    for name, target in (
        ("ai-delta", events.deltas),
        ("ai-audio", events.audio),
        ("notice", events.notices),
        ("ai-error", events.errors),
    ):
        while sock.pending(name):
            target.append(sock.events[name].get_nowait())


async def reply_done(sock: SocketClient, wait: float = 20) -> ReplyEvents:
    """The events of the next reply that ends with ai-done."""
    events = ReplyEvents(done=await sock.next("ai-done", wait))
    drain(sock, events)
    return events


async def reply_failed(sock: SocketClient, wait: float = 20) -> ReplyEvents:
    """The events of the next reply that ends with ai-error (and no stored text)."""
    events = ReplyEvents()
    events.errors.append(await sock.next("ai-error", wait))
    drain(sock, events)
    return events
