"""Print the app's OpenAPI document (GET /api/openapi.json of an in-process app, no server).

.venv/bin/python frontend/scripts/dump_openapi.py > frontend/openapi.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from starlette.testclient import TestClient

from app.main import create_app


def main() -> None:
    with TestClient(create_app()) as client:
        response = client.get("/api/openapi.json")
        response.raise_for_status()
        json.dump(response.json(), sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")


if __name__ == "__main__":
    main()
