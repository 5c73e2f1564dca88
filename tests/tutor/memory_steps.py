"""Steps the memory and erasure tests share: a session that ends and is summarized."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from app.tutor.summaries import SUMMARY_PROMPT
from tests.clients import Api, SocketClient
from tests.stubs.openai_chat import OpenAIChatStub
from tests.tutor.room import reply_done

SUMMARY_REPLY = (
    "Topics: solving linear equations; the balance method\n"
    "Went well: isolating x by undoing the addition first.\n"
    "Practise next: equations with x on both sides."
)


def summaries_from_stub(chat: OpenAIChatStub) -> None:
    chat.profile.replies[SUMMARY_PROMPT.splitlines()[0][:40]] = SUMMARY_REPLY


def summary_requests(chat: OpenAIChatStub) -> list[Any]:
    return [
        r
        for r in chat.requests
        if r.json["messages"][0]["content"] == SUMMARY_PROMPT  # type: ignore[index]
    ]


async def session_with(
    sockets: Callable[..., SocketClient],
    api: Api,
    url: str,
    companion: str,
    text: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Open a room, join it, say ``text``, wait for the reply, end the room: the join ack and
    the session record."""
    room = await api.create_room(companion)
    sock = await sockets(url, api.token).connect()
    joined = await sock.call("join", {"room_id": room["room_id"]})
    assert joined["ok"], joined
    ack = await sock.call(
        "message", {"room_id": room["room_id"], "text": text, "client_id": f"c-{time.time()}"}
    )
    assert ack["ok"], ack
    await reply_done(sock)
    r = await api.request("DELETE", f"/api/rooms/{room['room_id']}")
    assert r.status_code == 200, r.text
    await sock.close()
    return joined, r.json()


async def summarized(api: Api, session_id: str, timeout: float = 20) -> dict[str, Any]:
    """The session record once its summary is written (no event announces it: poll)."""
    deadline = time.monotonic() + timeout
    while True:
        r = await api.request("GET", f"/api/sessions/{session_id}")
        assert r.status_code == 200, r.text
        record: dict[str, Any] = r.json()
        if "summary" in record:
            return record
        assert time.monotonic() < deadline, "the summary was not written"
        await asyncio.sleep(0.1)
