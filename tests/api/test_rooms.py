"""Rooms and the session history they leave (app/api/rooms.py, app/api/sessions.py)."""

from __future__ import annotations

import pytest

from tests.clients import Api
from tests.servers import Replica


async def test_room_lifecycle_and_session_history(embedded: Replica) -> None:
    owner = await Api.guest(embedded.url, "Ann")
    room = await owner.create_room("sofia-spanish")
    rid = room["room_id"]
    assert room["invite_url"].endswith(f"/rooms/{rid}?invite={room['invite_token']}")
    assert room["expires_at"] - room["created_at"] == pytest.approx(7200)
    got = (await owner.request("GET", f"/api/rooms/{rid}")).json()
    assert got["room"]["status"] == "active" and got["is_owner"] is True

    # The invitee can preview with the token; a stranger cannot tell the room exists.
    guest = await Api.guest(embedded.url, "Bea")
    assert (await guest.request("GET", f"/api/rooms/{rid}")).status_code == 404
    preview = await guest.request(
        "GET", f"/api/rooms/{rid}", params={"invite_token": room["invite_token"]}
    )
    assert preview.status_code == 200 and preview.json()["is_owner"] is False
    assert (await guest.request("DELETE", f"/api/rooms/{rid}")).status_code == 404

    ended = await owner.request("DELETE", f"/api/rooms/{rid}")
    assert ended.status_code == 200
    record = ended.json()
    assert record["room_id"] == rid and record["companion_id"] == "sofia-spanish"
    assert record["message_count"] == 0 and record["participants"] == [owner.user_id]
    # Ending twice returns the same record instead of writing a second one.
    again = await owner.request("DELETE", f"/api/rooms/{rid}")
    assert again.json() == record
    history = (await owner.request("GET", "/api/sessions")).json()["sessions"]
    assert [s["session_id"] for s in history] == [record["session_id"]]
    one = await owner.request("GET", f"/api/sessions/{record['session_id']}")
    # The same record, with its summary once the summary job has written it.
    assert {k: v for k, v in one.json().items() if k != "summary"} == record
    transcript = await owner.request("GET", f"/api/sessions/{record['session_id']}/transcript")
    assert transcript.json() == {"session_id": record["session_id"], "messages": []}
    assert (await guest.request("GET", f"/api/sessions/{record['session_id']}")).status_code == 404
    assert (await owner.request("GET", f"/api/rooms/{rid}")).json()["room"]["status"] == "ended"
