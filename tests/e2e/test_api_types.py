"""The web app's REST types are generated from the app's OpenAPI document
(`npm --prefix frontend run api:types`); this fails when the API changed and they were not
regenerated."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.e2e.browser import ROOT


def test_the_frontend_openapi_snapshot_is_current() -> None:
    dumped = subprocess.run(
        [sys.executable, str(ROOT / "frontend" / "scripts" / "dump_openapi.py")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    snapshot = (ROOT / "frontend" / "openapi.json").read_text()
    assert json.loads(dumped) == json.loads(snapshot), (
        "the API changed: run `npm --prefix frontend run api:types` and commit the result"
    )
