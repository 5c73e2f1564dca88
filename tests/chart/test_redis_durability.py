"""The chart's Redis keeps what the app acknowledged through a crash: redis-server run with the
redis.conf the chart renders, SIGKILLed right after the last acknowledgement and started again
on the same directory (a container restarted in its pod keeps its emptyDir)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from tests.chart.rendering import CHART, render
from tests.clients import Api, SocketClient
from tests.conftest import ReplicaFactory
from tests.servers import RedisServer, wait_until


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


async def test_a_redis_crash_loses_no_acknowledged_message_or_session(
    helm: Path,
    tmp_path: Path,
    start_replica: ReplicaFactory,
    sockets: Callable[..., SocketClient],
) -> None:
    conf = tmp_path / "redis.conf"
    rendered = render([CHART / "ci" / "default-values.yaml"])
    conf.write_text(rendered.one("ConfigMap", "redis")["data"]["redis.conf"])
    redis = RedisServer(conf=conf).start()
    try:
        replica = start_replica("aof", redis.url)
        learner = await Api.guest(replica.url, "Ann")
        ended_room = (await learner.create_room())["room_id"]
        live_room = (await learner.create_room())["room_id"]
        ann = await sockets(replica.url, learner.token).connect()
        assert (await ann.call("join", {"room_id": ended_room}))["ok"]
        said = await ann.call("message", {"room_id": ended_room, "text": "hi", "client_id": "e1"})
        assert said["ok"], said
        ended = await learner.request("DELETE", f"/api/rooms/{ended_room}")
        assert ended.status_code == 200, ended.text
        session_id = ended.json()["session_id"]
        assert (await ann.call("join", {"room_id": live_room}))["ok"]
        for i in range(20):
            ack = await ann.call(
                "message", {"room_id": live_room, "text": f"m{i}", "client_id": f"c{i}"}
            )
            assert ack["ok"], ack

        redis.kill()
        redis.start()
        wait_until(lambda: ready(replica.url), 30, "the replica to see Redis again")

        r = await learner.request("GET", f"/api/rooms/{live_room}/messages")
        assert r.status_code == 200, r.text
        texts = [m["text"] for m in r.json()["messages"] if m["sender"]["kind"] == "user"]
        assert texts == [f"m{i}" for i in range(20)]
        r = await learner.request("GET", "/api/sessions")
        assert [s["session_id"] for s in r.json()["sessions"]] == [session_id]
        r = await learner.request("GET", f"/api/sessions/{session_id}/transcript")
        assert r.json()["messages"][0]["text"] == "hi"
    finally:
        redis.cleanup()
