"""Print the Socket.IO events as an OpenAPI document of schemas only, for openapi-typescript.

The server's events come from ``app/server_events.py`` (serialized shapes, ``from`` by its
alias), the client's from ``app/realtime/schemas.py`` (``CLIENT_EVENTS``). Two extra schemas map
each event name to its payload, ``ServerToClientEvents`` and ``ClientToServerEvents``, which
``src/shared/api/types.ts`` turns into socket.io-client's typed ``Socket``.

.venv/bin/python frontend/scripts/dump_events.py > frontend/events.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from app.realtime.schemas import CLIENT_EVENTS
from app.server_events import SERVER_EVENTS

REF = "#/components/schemas/{model}"


def _event_map(refs: dict[str, dict[str, str]], description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": refs,
        "required": sorted(refs),
        "additionalProperties": False,
    }


def document() -> dict[str, Any]:
    inputs: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        *((model, "serialization") for model in SERVER_EVENTS),
        *((model, "validation") for model in set(CLIENT_EVENTS.values())),
    ]
    keys, defs = models_json_schema(inputs, ref_template=REF)
    schemas: dict[str, Any] = defs.get("$defs", {})
    server = {model.event: keys[(model, "serialization")] for model in SERVER_EVENTS}
    client = {name: keys[(model, "validation")] for name, model in CLIENT_EVENTS.items()}
    schemas["ServerToClientEvents"] = _event_map(server, "Server -> client event payloads.")
    schemas["ClientToServerEvents"] = _event_map(client, "Client -> server event payloads.")
    return {
        "openapi": "3.1.0",
        "info": {"title": "Holo Tutor Hub Socket.IO events", "version": "1"},
        "paths": {},
        "components": {"schemas": schemas},
    }


def main() -> None:
    json.dump(document(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
