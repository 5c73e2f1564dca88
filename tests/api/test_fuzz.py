"""Property-based REST fuzzing with schemathesis against a running replica's /api/openapi.json:
no 5xx, and every response (status, headers, body) as the document says; and a corpus of inputs
that once gave a 500, which runs every time whatever schemathesis generates.

Schemathesis runs as its command (``st run``), as CI would run it: its pytest integration does
not support the pytest this project uses. The run is bounded (examples per operation) to stay
within the suite's time budget.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.clients import Api, SocketClient
from tests.servers import LOG_DIR, Replica

EXAMPLES_PER_OPERATION = 50
ST = Path(sys.executable).parent / "st"


def test_the_api_keeps_its_openapi_contract(embedded: Replica) -> None:
    r = httpx.post(f"{embedded.url}/api/auth/guest", json={"display_name": "Fuzz"}, timeout=10)
    token = r.json()["token"]
    report = LOG_DIR.parent / "schemathesis"
    report.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(
        [
            str(ST),
            "run",
            f"{embedded.url}/api/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "all",
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--generation-deterministic",
            # One worker: schemathesis's generation is not reliably thread-safe (a run with
            # two once failed inside hypothesis's reflection).
            "--workers",
            "1",
            "--request-timeout",
            "10",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=report.parent,  # schemathesis keeps a cache in its working directory
    )
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]


# Inputs that once gave a 500: each must be refused with a 4xx that names the problem.
CORPUS = [
    ("GET", "/api/rooms/{room}/messages?after=9223372036854775807", None),
    ("GET", "/api/rooms/{room}/messages?after=-1", None),
    ("GET", "/api/rooms/{room}/messages?limit=99999999999999999999", None),
    ("POST", "/api/rooms", "[" * 5000),
    ("POST", "/api/auth/guest", "{" + '"a":{' * 3000),
    # A session id that names another key (the transcript list) of the same session.
    ("GET", "/api/sessions/{session}:transcript", None),
    ("GET", "/api/sessions/{session}:transcript/transcript", None),
    ("GET", "/api/sessions/not-a-uuid", None),
    ("GET", "/api/rooms/x%7D:members", None),
    ("DELETE", "/api/rooms/{room}%7D", None),
]


@pytest.fixture(scope="module")
async def ended_room(embedded: Replica) -> tuple[Api, dict[str, str]]:
    """A guest, and a room of theirs that was talked in and ended (so that its session has a
    transcript)."""
    api = await Api.guest(embedded.url)
    room = await api.create_room()
    ws = await SocketClient(embedded.url, api.token).connect()
    try:
        assert (await ws.call("join", {"room_id": room["room_id"]}))["ok"]
        said = {"room_id": room["room_id"], "text": "hello", "client_id": "c1"}
        assert (await ws.call("message", said))["ok"]
    finally:
        await ws.close()
    ended = await api.request("DELETE", f"/api/rooms/{room['room_id']}")
    return api, {"room": room["room_id"], "session": ended.json()["session_id"]}


@pytest.mark.parametrize(("method", "path", "body"), CORPUS)
async def test_inputs_that_once_gave_500_are_refused_cleanly(
    ended_room: tuple[Api, dict[str, str]], method: str, path: str, body: str | None
) -> None:
    api, ids = ended_room
    headers = {"Content-Type": "application/json"} if body is not None else {}
    r = await api.request(method, path.format(**ids), content=body, headers=headers)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert r.json()["error"]["code"]
