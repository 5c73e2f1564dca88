"""The web app's REST and Socket.IO types are generated from the app (`npm --prefix frontend run
api:types`): REST from the OpenAPI document, socket events from the pydantic models in
app/server_events.py and app/realtime/schemas.py. These fail when the app changed and the types
were not regenerated."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.browser import ROOT

FRONTEND = ROOT / "frontend"
REGENERATE = "run `npm --prefix frontend run api:types` and commit the result"


def _dump(script: str) -> object:
    out = subprocess.run(
        [sys.executable, str(FRONTEND / "scripts" / script)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def _typescript_of(snapshot: Path, tmp_path: Path) -> str:
    generator = FRONTEND / "node_modules" / ".bin" / "openapi-typescript"
    if not generator.exists():
        pytest.skip("frontend/node_modules is not installed (make frontend)")
    out = tmp_path / "generated.d.ts"
    subprocess.run(
        [str(generator), str(snapshot), "-o", str(out), "--default-non-nullable=false"],
        check=True,
        capture_output=True,
        cwd=FRONTEND,
    )
    return out.read_text()


def test_the_frontend_openapi_snapshot_is_current() -> None:
    snapshot = (FRONTEND / "openapi.json").read_text()
    assert _dump("dump_openapi.py") == json.loads(snapshot), f"the API changed: {REGENERATE}"


def test_the_frontend_socket_event_snapshot_is_current() -> None:
    snapshot = (FRONTEND / "events.json").read_text()
    assert _dump("dump_events.py") == json.loads(snapshot), f"an event changed: {REGENERATE}"


@pytest.mark.parametrize(
    ("snapshot", "types"),
    [("openapi.json", "src/shared/api/schema.d.ts"), ("events.json", "src/shared/api/events.d.ts")],
)
def test_the_typescript_types_match_their_snapshot(
    snapshot: str, types: str, tmp_path: Path
) -> None:
    generated = _typescript_of(FRONTEND / snapshot, tmp_path)
    assert generated == (FRONTEND / types).read_text(), f"{types} is stale: {REGENERATE}"
