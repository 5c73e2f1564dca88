"""The Prometheus exposition: our names, route templates (not raw paths), promtool-clean."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.clients import Api, SocketClient
from tests.realtime.test_signaling import open_call
from tests.servers import Replica


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


async def test_metrics_count_what_happened(
    cluster: list[Replica], sockets: Callable[..., SocketClient]
) -> None:
    room, ann, _tom, learner, _ = await open_call(cluster, sockets)
    rid = room["room_id"]
    await ann.call("message", {"room_id": rid, "text": "hello", "client_id": "m"})
    await ann.call("message", {"room_id": rid, "text": ""})
    api = Api(cluster[0].url, learner.token)
    await api.request("GET", f"/api/rooms/{rid}")
    await api.request("DELETE", f"/api/rooms/{rid}")
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"{cluster[0].url}/metrics")).text
    m = samples(text)
    assert (
        m[
            (
                "holo_http_requests_total",
                frozenset(
                    {("method", "GET"), ("route", "/api/rooms/{room_id}"), ("status", "200")}
                ),
            )
        ]
        >= 1
    )
    assert not any(rid in name or rid in str(labels) for name, labels in m)  # templates, not ids
    assert (
        m[("holo_socket_events_total", frozenset({("event", "message"), ("outcome", "ok")}))] >= 1
    )
    assert (
        m[("holo_socket_events_total", frozenset({("event", "message"), ("outcome", "invalid")}))]
        >= 1
    )
    assert m[("holo_socket_connections", frozenset())] >= 1
    assert m[("holo_sessions_total", frozenset({("outcome", "ended")}))] >= 1
    for name in ("holo_rooms_active", "holo_http_request_duration_seconds_count"):
        assert any(key[0] == name for key in m), name


async def test_promtool_accepts_the_exposition(cluster: list[Replica]) -> None:
    async with httpx.AsyncClient() as http:
        await http.get(f"{cluster[0].url}/api/companions")  # at least one labelled series
        text = (await http.get(f"{cluster[0].url}/metrics")).text
    assert shutil.which("promtool"), "promtool is missing: `make test` installs Debian's prometheus"
    result = await asyncio.to_thread(
        subprocess.run, ["promtool", "check", "metrics"], input=text, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
