"""kopf running for real (`python -m holo_operator`) against the Kubernetes API stand-in.

Every object the operator and kopf write passes through the stand-in's validator: the official
Kubernetes schemas (strict) for built-in kinds, the CRD schema (strict) for TurnServers.
"""

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
from holo_turn import keys as redis_keys
from kube_api_standin import KubeApiStandin
from operator_process import OperatorProcess, operator_process
from turn_fixtures import NAMESPACE, put_redis_secret, turnserver
from turn_processes import RedisServer, eventually

FAST = {"intervalSeconds": 2, "credentialTTLSeconds": 1, "clockSkewSeconds": 1}
SLOW = {"intervalSeconds": 3600, "credentialTTLSeconds": 60, "clockSkewSeconds": 5}


def status_of(api: KubeApiStandin, name: str = "turn") -> dict[str, Any]:
    obj = api.get("TurnServer", NAMESPACE, name) or {}
    return dict(obj.get("status") or {})


def condition(api: KubeApiStandin, type_: str, name: str = "turn") -> dict[str, Any]:
    for c in status_of(api, name).get("conditions", []):
        if c["type"] == type_:
            return dict(c)
    return {}


def events(api: KubeApiStandin, reason: str) -> list[dict[str, Any]]:
    return [e for e in api.list("Event") if e.get("reason") == reason]


def explain(api: KubeApiStandin, op: OperatorProcess) -> str:
    return f"rejections={api.rejections}\n--- operator log ---\n{op.log_text()[-6000:]}"


async def test_operator_owns_coturn_rotates_reports_and_reseeds(
    standin: KubeApiStandin, redis: RedisServer, tmp_path: Path
) -> None:
    await put_redis_secret(standin, redis.url)
    await standin.put_object(turnserver(rotation=FAST))
    client = aioredis.Redis.from_url(redis.url)
    set_key, hash_key = (
        redis_keys.coturn_secret_set("turn.test"),
        redis_keys.current_secret_hash("turn.test"),
    )
    async with operator_process(standin.url, standin.token, tmp_path, NAMESPACE) as op:
        try:

            async def synced() -> bool:
                return condition(standin, "SecretsSynced").get("status") == "True"

            await eventually(synced, within=30, what="first reconcile")
            for kind in ("ConfigMap", "Service", "Deployment"):
                assert standin.get(kind, NAMESPACE, "turn-coturn") is not None
            assert standin.get("Secret", NAMESPACE, "turn-turn-secrets") is not None
            assert condition(standin, "Ready")["reason"] == "NoReadyRelays"

            # A relay becomes ready (what the Deployment controller would report).
            await standin.set_status("Deployment", NAMESPACE, "turn-coturn", {"readyReplicas": 1})

            async def ready() -> bool:
                return status_of(standin).get("readyRelays") == 1 and (
                    condition(standin, "Ready").get("status") == "True"
                )

            await eventually(ready, what="Ready condition")

            # Rotation on the interval: the current secret changes, in status and in Redis.
            first = status_of(standin)["currentSecretId"]

            async def rotated() -> str | None:
                now = status_of(standin).get("currentSecretId")
                return now if now and now != first else None

            second = await eventually(rotated, what="a rotation")
            current = await eventually(
                lambda: _hash_id(client, hash_key, lambda v: v not in (None, first)),
                what="redis current",
            )
            assert current != first
            members = await client.smembers(set_key)
            secret = await client.hget(hash_key, "secret")
            assert secret in members
            assert second
            assert events(standin, "Rotated"), explain(standin, op)

            async with httpx.AsyncClient() as http:
                metrics = (await http.get(op.metrics_url)).text
                live = await http.get(op.liveness_url)
            match = re.search(r'holo_turn_rotations_total\{realm="turn.test"\} (\S+)', metrics)
            assert match and float(match.group(1)) >= 1
            assert 'holo_turn_secret_age_seconds{realm="turn.test"}' in metrics
            assert await promtool_accepts(metrics)
            assert live.status_code == 200 and "turn.test" in live.text

            # A spec update (slower rotation) is picked up; then Redis loses everything (it has
            # no persistence) and the operator re-seeds it from the history Secret.
            await standin.put_object(turnserver(rotation=SLOW))

            async def updated() -> bool:
                return status_of(standin).get("observedGeneration") == 2

            await eventually(updated, what="the update to be observed")
            before = status_of(standin)["currentSecretId"]
            await client.flushall()

            async def reseeded() -> bool:
                return bool(events(standin, "Reseeded")) and bool(await client.exists(hash_key))

            await eventually(reseeded, what="re-seeded keys")
            assert await client.hget(hash_key, "id") == before.encode()
            assert await client.hget(hash_key, "secret") in await client.smembers(set_key)

            assert standin.rejections == [], explain(standin, op)
        except BaseException:
            print(explain(standin, op))
            raise
        finally:
            await client.aclose()


async def test_errors_are_reported_and_retried_until_they_clear(
    standin: KubeApiStandin, redis: RedisServer, tmp_path: Path
) -> None:
    await standin.put_object(turnserver(rotation=SLOW))  # its Redis Secret does not exist yet
    async with operator_process(standin.url, standin.token, tmp_path, NAMESPACE) as op:
        try:

            async def missing() -> bool:
                return condition(standin, "SecretsSynced").get("reason") == "RedisSecretMissing"

            await eventually(missing, within=30, what="RedisSecretMissing condition")
            assert condition(standin, "Ready")["status"] == "False"
            await eventually(
                lambda: _async(bool(events(standin, "RedisSecretMissing"))), what="warning event"
            )
            assert events(standin, "RedisSecretMissing")[0]["type"] == "Warning"

            await put_redis_secret(standin, redis.url)

            async def synced() -> bool:
                return condition(standin, "SecretsSynced").get("status") == "True"

            await eventually(synced, within=30, what="recovery after the Secret appears")
            assert standin.rejections == [], explain(standin, op)
        except BaseException:
            print(explain(standin, op))
            raise


async def _hash_id(client: aioredis.Redis, key: str, ok: Any) -> str | None:
    value = await client.hget(key, "id")
    text = value.decode() if isinstance(value, bytes) else value
    return text if ok(text) else None


async def _async(value: bool) -> bool:
    return value


async def promtool_accepts(metrics: str) -> bool:
    """`promtool check metrics`: names, help texts and units as Prometheus expects them."""
    lint = await asyncio.create_subprocess_exec(
        "promtool",
        "check",
        "metrics",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await lint.communicate(metrics.encode())
    assert lint.returncode == 0, out.decode()
    return True
