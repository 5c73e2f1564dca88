"""Two operator processes: one acts, the other stands by; a paused leader loses the lead and,
once resumed, does not act on its stale belief (its timers fire, its fencing token is stale)."""

import base64
import json
from collections.abc import Awaitable
from pathlib import Path

import httpx
import redis.asyncio as aioredis
from holo_turn import keys as redis_keys
from kube_api_standin import KubeApiStandin
from operator_process import OperatorProcess, operator_process
from turn_fixtures import NAMESPACE, put_redis_secret, turnserver
from turn_processes import RedisServer, eventually

REALM = "turn.test"
FAST = {"intervalSeconds": 2, "credentialTTLSeconds": 1, "clockSkewSeconds": 1}
# A tick is 0.3 s; a lock that lapses only after 10 s of no renewal keeps a leader that a loaded
# machine delays for a few seconds (the paused one below stays paused far longer).
LOCK_TTL = 10.0


async def leading(op: OperatorProcess) -> list[str]:
    async with httpx.AsyncClient(timeout=5) as http:
        response = await http.get(op.liveness_url)
    return list(response.json().get("leading_realms", []))


async def scrape(op: OperatorProcess) -> str:
    async with httpx.AsyncClient(timeout=5) as http:
        return (await http.get(op.metrics_url)).text


def ticks(op: OperatorProcess) -> int:
    return int(op.log_text().count("Timer 'tick' succeeded"))


async def test_only_the_lock_holder_acts_and_a_resumed_leader_stands_by(
    standin: KubeApiStandin, redis: RedisServer, tmp_path: Path
) -> None:
    await put_redis_secret(standin, redis.url)
    await standin.put_object(turnserver(rotation=FAST))
    client = aioredis.Redis.from_url(redis.url)
    lock_key = redis_keys.operator_lock(REALM)

    async def holder() -> str:
        value = await client.get(lock_key)
        text = value.decode() if isinstance(value, bytes) else (value or "")
        return text.split(":")[0]

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with operator_process(
        standin.url, standin.token, tmp_path / "a", NAMESPACE, instance="op-a", lock_ttl=LOCK_TTL
    ) as a:
        await eventually(lambda: _is(holder(), "op-a"), within=90, what="op-a to lead")
        async with operator_process(
            standin.url,
            standin.token,
            tmp_path / "b",
            NAMESPACE,
            instance="op-b",
            lock_ttl=LOCK_TTL,
        ) as b:
            try:
                # op-b runs its timers too, but stands by while op-a renews the lock.
                await eventually(lambda: _true(ticks(b) >= 3), within=90, what="op-b ticks")
                assert await holder() == "op-a"
                assert await leading(b) == [] and await leading(a) == [REALM]

                a.pause()  # SIGSTOP: op-a stops renewing, but believes nothing has changed
                await eventually(lambda: _is(holder(), "op-b"), within=60, what="op-b to lead")
                rotations_before = rotations(standin)
                await eventually(
                    lambda: _true(rotations(standin) > rotations_before),
                    within=20,
                    what="op-b to rotate",
                )

                a.resume()  # its timers are overdue and fire at once
                await eventually(
                    lambda: _true("Standing by for realm turn.test" in a.log_text()),
                    what="op-a to notice it no longer leads",
                )
                resumed_at = ticks(a)
                await eventually(lambda: _true(ticks(a) >= resumed_at + 3), what="op-a ticks")
                assert await holder() == "op-b"
                # Only the leader exports the secret's age; the standby's would be frozen.
                age = 'holo_turn_secret_age_seconds{realm="turn.test"}'
                assert age not in await scrape(a) and age in await scrape(b)
                b_log = b.log_text()
                assert b_log.index("Standing by for realm") < b_log.index("Leading realm")
                await assert_redis_matches_history(standin, client)
                assert standin.rejections == []
            except BaseException:
                print(a.log_text()[-4000:], b.log_text()[-4000:])
                raise
    await client.aclose()


def rotations(api: KubeApiStandin) -> int:
    return sum(1 for e in api.list("Event") if e.get("reason") == "Rotated")


async def assert_redis_matches_history(api: KubeApiStandin, client: aioredis.Redis) -> None:
    """Whatever happened, coturn's set and the app's hash are exactly the recorded history."""

    async def consistent() -> bool:
        secret = api.get("Secret", NAMESPACE, "turn-turn-secrets")
        assert secret is not None
        history = json.loads(base64.b64decode(secret["data"]["history.json"]))
        members = await client.smembers(redis_keys.coturn_secret_set(REALM))
        current = await client.hgetall(redis_keys.current_secret_hash(REALM))
        return bool(
            members == {h["secret"].encode() for h in history}
            and current.get(b"id") == history[-1]["id"].encode()
        )

    # Rotations continue meanwhile; a reconcile in flight may sit between its two writes.
    await eventually(consistent, what="Redis to match the history Secret")


async def _is(value: Awaitable[str], expected: str) -> bool:
    return (await value) == expected


async def _true(value: bool) -> bool:
    return value
