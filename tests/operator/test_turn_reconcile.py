"""One reconcile against the Kubernetes API stand-in and a real Redis (no kopf here)."""

from typing import Any

import pytest
import redis.asyncio as aioredis
from holo_operator.kube import ConflictError
from holo_operator.manifests import Owner, history_secret
from holo_operator.reconcile import RedisSecretMissing, read_history, reconcile
from holo_operator.runtime import Runtime
from holo_operator.spec import SpecError
from holo_turn import keys as redis_keys
from kube_api_standin import KubeApiStandin
from redis.exceptions import RedisError
from turn_fixtures import NAMESPACE, put_redis_secret, turnserver
from turn_processes import RedisServer

REALM = "turn.test"


async def create(api: KubeApiStandin, **spec: Any) -> tuple[Owner, dict[str, Any]]:
    obj = await api.put_object(turnserver(**spec))
    meta = obj["metadata"]
    return Owner(meta["name"], meta["namespace"], meta["uid"]), obj["spec"]


def versions(api: KubeApiStandin) -> dict[tuple[str, str], str]:
    return {
        (o["kind"], o["metadata"]["name"]): o["metadata"]["resourceVersion"]
        for kind in ("ConfigMap", "Secret", "Service", "Deployment", "DaemonSet")
        for o in api.list(kind)
    }


async def redis_state(url: str) -> tuple[set[Any], dict[Any, Any]]:
    client = aioredis.Redis.from_url(url)
    try:
        members = await client.smembers(redis_keys.coturn_secret_set(REALM))
        current = await client.hgetall(redis_keys.current_secret_hash(REALM))
        return set(members), dict(current)
    finally:
        await client.aclose()


async def test_first_reconcile_creates_children_history_and_redis_keys(
    standin: KubeApiStandin, runtime: Runtime, redis: RedisServer
) -> None:
    await put_redis_secret(standin, redis.url)
    owner, spec = await create(standin)

    outcome = await reconcile(runtime, owner, spec, now=1000.0)

    assert outcome.current is not None and not outcome.rotated
    for kind in ("ConfigMap", "Service", "Deployment"):
        assert standin.get(kind, NAMESPACE, "turn-coturn") is not None
    assert standin.get("Secret", NAMESPACE, "turn-coturn-redis") is not None
    history, _ = await read_history(runtime.kube, owner)
    assert history == (outcome.current,)
    members, current = await redis_state(redis.url)
    assert members == {outcome.current.secret.encode()}
    assert current == {
        b"id": outcome.current.id.encode(),
        b"secret": outcome.current.secret.encode(),
        b"created_at": b"1000.0",
    }
    assert standin.rejections == []


async def test_running_twice_changes_nothing(
    standin: KubeApiStandin, runtime: Runtime, redis: RedisServer
) -> None:
    await put_redis_secret(standin, redis.url)
    owner, spec = await create(standin)
    first = await reconcile(runtime, owner, spec, now=1000.0)
    before_versions, before_redis = versions(standin), await redis_state(redis.url)

    second = await reconcile(runtime, owner, spec, now=1050.0)

    assert second.current == first.current and not second.rotated and not second.reseeded
    assert versions(standin) == before_versions
    assert await redis_state(redis.url) == before_redis


async def test_rotation_keeps_the_old_secret_through_the_grace_then_drops_it(
    standin: KubeApiStandin, runtime: Runtime, redis: RedisServer
) -> None:
    await put_redis_secret(standin, redis.url)
    owner, spec = await create(standin)
    old = (await reconcile(runtime, owner, spec, now=1000.0)).current
    assert old is not None

    rotated = await reconcile(runtime, owner, spec, now=1100.0)
    assert rotated.rotated and rotated.current is not None and rotated.current != old
    members, current = await redis_state(redis.url)
    assert members == {old.secret.encode(), rotated.current.secret.encode()}
    assert current[b"id"] == rotated.current.id.encode()

    expired = await reconcile(runtime, owner, spec, now=1100.0 + 30 + 5)
    assert expired.retired == 1
    members, _ = await redis_state(redis.url)
    assert members == {rotated.current.secret.encode()}


async def test_a_redis_that_lost_everything_is_reseeded_from_the_history(
    standin: KubeApiStandin, runtime: Runtime, redis: RedisServer
) -> None:
    await put_redis_secret(standin, redis.url)
    owner, spec = await create(standin)
    first = await reconcile(runtime, owner, spec, now=1000.0)
    rotated = await reconcile(runtime, owner, spec, now=1100.0)
    saved = await redis_state(redis.url)
    await runtime.redis(redis.url).flushall()

    again = await reconcile(runtime, owner, spec, now=1101.0)

    assert (
        again.reseeded and not again.rotated and again.current == rotated.current != first.current
    )
    assert await redis_state(redis.url) == saved


async def test_a_placement_change_replaces_the_deployment_with_a_daemonset(
    standin: KubeApiStandin, runtime: Runtime, redis: RedisServer
) -> None:
    await put_redis_secret(standin, redis.url)
    owner, spec = await create(standin)
    await reconcile(runtime, owner, spec, now=1000.0)

    host = {**spec, "placement": {"mode": "HostNetwork"}, "externalAddress": {"source": "NodeIP"}}
    await reconcile(runtime, owner, host, now=1001.0)

    assert standin.get("Deployment", NAMESPACE, "turn-coturn") is None
    assert standin.get("DaemonSet", NAMESPACE, "turn-coturn") is not None


async def test_ready_relays_come_from_the_workload_status(
    standin: KubeApiStandin, runtime: Runtime, redis: RedisServer
) -> None:
    await put_redis_secret(standin, redis.url)
    owner, spec = await create(standin)
    assert (await reconcile(runtime, owner, spec, now=1000.0)).ready_relays == 0

    await standin.set_status("Deployment", NAMESPACE, "turn-coturn", {"readyReplicas": 1})

    assert (await reconcile(runtime, owner, spec, now=1001.0)).ready_relays == 1


async def test_loadbalancer_address_is_advertised_once_provisioned(
    standin: KubeApiStandin, runtime: Runtime, redis: RedisServer
) -> None:
    await put_redis_secret(standin, redis.url)
    owner, spec = await create(standin, externalAddress={"source": "LoadBalancer"})
    await reconcile(runtime, owner, spec, now=1000.0)
    await standin.set_status(
        "Service", NAMESPACE, "turn-coturn", {"loadBalancer": {"ingress": [{"ip": "198.51.100.9"}]}}
    )

    await reconcile(runtime, owner, spec, now=1001.0)

    deployment = standin.get("Deployment", NAMESPACE, "turn-coturn")
    assert deployment is not None
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--external-ip=198.51.100.9" in args


async def test_another_leader_means_this_instance_stands_by_and_writes_nothing(
    standin: KubeApiStandin, runtime: Runtime, redis: RedisServer
) -> None:
    await put_redis_secret(standin, redis.url)
    owner, spec = await create(standin)
    client = runtime.redis(redis.url)
    await client.set(redis_keys.operator_lock(REALM), "other-instance:7", px=30_000)

    outcome = await reconcile(runtime, owner, spec, now=1000.0)

    assert outcome.current is None
    assert standin.get("Deployment", NAMESPACE, "turn-coturn") is None
    assert await redis_state(redis.url) == (set(), {})


async def test_missing_redis_secret_is_reported(standin: KubeApiStandin, runtime: Runtime) -> None:
    owner, spec = await create(standin)

    with pytest.raises(RedisSecretMissing):
        await reconcile(runtime, owner, spec, now=1000.0)


async def test_unreachable_redis_is_a_redis_error(
    standin: KubeApiStandin, runtime: Runtime
) -> None:
    await put_redis_secret(standin, "redis://127.0.0.1:1/0")
    owner, spec = await create(standin)

    with pytest.raises(RedisError):
        await reconcile(runtime, owner, spec, now=1000.0)


async def test_an_impossible_spec_is_refused_before_anything_is_written(
    standin: KubeApiStandin, runtime: Runtime, redis: RedisServer
) -> None:
    await put_redis_secret(standin, redis.url)
    owner, spec = await create(standin, externalAddress={"source": "Static"})

    with pytest.raises(SpecError):
        await reconcile(runtime, owner, spec, now=1000.0)
    assert standin.list("ConfigMap") == []


async def test_a_history_write_from_a_stale_read_is_refused(
    standin: KubeApiStandin, runtime: Runtime, redis: RedisServer
) -> None:
    await put_redis_secret(standin, redis.url)
    owner, spec = await create(standin)
    await reconcile(runtime, owner, spec, now=1000.0)
    _, stale_version = await read_history(runtime.kube, owner)
    await reconcile(runtime, owner, spec, now=1100.0)  # someone else rotated meanwhile

    with pytest.raises(ConflictError):
        await runtime.kube.replace(history_secret(owner, "[]", stale_version))
