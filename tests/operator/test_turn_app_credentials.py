"""The app side of TURN: /api/ice-servers mints per-user credentials from the secret the
operator made current, and coturn (reading the operator's secret set) accepts them, before and
after a rotation. The secret itself never reaches the browser or the app's log."""

import base64
import hashlib
import hmac
import time
from pathlib import Path
from typing import Any

import httpx
from holo_operator.manifests import Owner
from holo_operator.reconcile import reconcile
from holo_operator.runtime import Runtime
from kube_api_standin import KubeApiStandin
from turn_fixtures import NAMESPACE, coturn_inputs, put_redis_secret, turnserver
from turn_processes import RedisServer, allocate, coturn

from tests.conftest import BASE_ENV
from tests.servers import Replica

TTL, SKEW, INTERVAL = 60, 5, 200
REALM = "turn.test"


async def _ice(replica: Replica) -> tuple[dict[str, Any], str]:
    async with httpx.AsyncClient(base_url=replica.url) as http:
        guest = (await http.post("/api/auth/guest", json={"display_name": "Ann"})).json()
        r = await http.get(
            "/api/ice-servers", headers={"Authorization": f"Bearer {guest['token']}"}
        )
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    return r.json(), guest["user_id"]


def _turn_entry(body: dict[str, Any]) -> dict[str, Any]:
    (turn,) = [s for s in body["ice_servers"] if s.get("username")]
    return dict(turn)


async def test_ice_servers_credentials_are_accepted_by_coturn_across_a_rotation(
    standin: KubeApiStandin, runtime: Runtime, redis: RedisServer, tmp_path: Path
) -> None:
    await put_redis_secret(standin, redis.url)
    spec = {"intervalSeconds": INTERVAL, "credentialTTLSeconds": TTL, "clockSkewSeconds": SKEW}
    obj = await standin.put_object(turnserver(realm=REALM, rotation=spec))
    owner = Owner("turn", NAMESPACE, obj["metadata"]["uid"])
    first = (await reconcile(runtime, owner, obj["spec"], now=1000.0)).current
    assert first is not None

    with coturn(*coturn_inputs(standin), tmp_path) as server:
        turn_url = f"turn:127.0.0.1:{server.port}?transport=udp"
        app = Replica(
            name="turn-app",
            env={
                **BASE_ENV,
                "HOLO_REDIS_URL": redis.url,
                "HOLO_TURN_URLS": turn_url,
                "HOLO_TURN_REALM": REALM,
                "HOLO_TURN_CREDENTIAL_TTL": str(TTL),
            },
        ).start()
        try:
            body, user_id = await _ice(app)
            turn = _turn_entry(body)
            assert body["relay_available"] is True and body["ttl"] == TTL
            assert turn["urls"] == [turn_url]
            expiry, named_user = turn["username"].split(":", 1)
            assert named_user == user_id
            assert time.time() < int(expiry) <= time.time() + TTL + 1
            expected = hmac.new(first.secret.encode(), turn["username"].encode(), hashlib.sha1)
            assert turn["credential"] == base64.b64encode(expected.digest()).decode()
            assert await allocate(server, turn["username"], turn["credential"])

            # After a rotation and its grace period only the new secret is accepted; the app
            # hands out credentials from it without a restart.
            await reconcile(runtime, owner, obj["spec"], now=1000.0 + INTERVAL)
            await reconcile(runtime, owner, obj["spec"], now=1000.0 + INTERVAL + TTL + SKEW)
            assert not await allocate(server, turn["username"], turn["credential"])
            rotated, _ = await _ice(app)
            fresh = _turn_entry(rotated)
            assert fresh["credential"] != turn["credential"]
            assert await allocate(server, fresh["username"], fresh["credential"])

            served = str(body) + str(rotated)
            assert first.secret not in served and first.secret not in app.log_text()
        finally:
            app.kill()


async def test_without_a_current_secret_the_app_offers_stun_only(redis: RedisServer) -> None:
    app = Replica(
        name="turn-app-nosecret",
        env={**BASE_ENV, "HOLO_REDIS_URL": redis.url, "HOLO_TURN_URLS": "turn:127.0.0.1:3478"},
    ).start()
    try:
        body, _ = await _ice(app)
    finally:
        app.kill()
    assert body["relay_available"] is False
    assert [s["urls"] for s in body["ice_servers"]] == [["stun:127.0.0.1:3478"]]
    assert not any(s.get("username") or s.get("credential") for s in body["ice_servers"])
