"""The OpenAPI document and its page (app/api/openapi.py)."""

from __future__ import annotations

import httpx

from tests.servers import Replica


async def test_openapi_document_and_page(embedded: Replica) -> None:
    async with httpx.AsyncClient(base_url=embedded.url) as http:
        doc = (await http.get("/api/openapi.json")).json()
        page = await http.get("/api/docs")
        bundle = await http.get("/api/docs/static/swagger-ui-bundle.js")
    assert doc["openapi"].startswith("3.")
    assert {
        "/api/auth/guest",
        "/api/companions",
        "/api/rooms",
        "/api/rooms/{room_id}",
        "/api/rooms/{room_id}/messages",
        "/api/sessions",
        "/api/sessions/{session_id}/transcript",
        "/api/ice-servers",
    } <= set(doc["paths"])
    assert set(doc["paths"]["/api/rooms/{room_id}"]) == {"get", "delete"}
    create = doc["paths"]["/api/rooms"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CreateRoom"
    }
    assert "ErrorResponse" in doc["components"]["schemas"]
    assert "SessionRecord" in doc["components"]["schemas"]
    assert page.status_code == 200 and "swagger-ui" in page.text
    assert bundle.status_code == 200
