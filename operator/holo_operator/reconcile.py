"""One reconcile of a `TurnServer`: own the children, rotate if due, project secrets into Redis.

Every step is idempotent, so a retry or a second run with nothing due changes nothing.
"""

import base64
from dataclasses import dataclass
from typing import Any

from holo_operator import history as hist
from holo_operator.kube import KubeClient
from holo_operator.manifests import (
    HISTORY_KEY,
    Owner,
    children,
    history_secret,
    history_secret_name,
    stale_workload_kind,
    workload_name,
)
from holo_operator.redis_projection import SyncResult, project
from holo_operator.runtime import Runtime
from holo_operator.spec import AddressSource, Placement, TurnServerSpec, parse_spec
from holo_operator.turnserver_conf import redis_userdb


class RedisSecretMissing(RuntimeError):
    """The Secret named in `spec.redis.secretRef` (or its key) does not exist yet."""


@dataclass(frozen=True)
class Outcome:
    """What a reconcile did; None-valued `current` means another instance leads."""

    spec: TurnServerSpec
    current: hist.SharedSecret | None = None
    rotated: bool = False
    reseeded: bool = False
    retired: int = 0
    ready_relays: int = 0


async def reconcile(
    runtime: Runtime, owner: Owner, raw_spec: dict[str, Any], now: float
) -> Outcome:
    spec = parse_spec(raw_spec)
    kube = runtime.kube
    url = await read_redis_url(kube, owner.namespace, spec)
    client = runtime.redis(url)
    token = await runtime.lock(spec.realm, client).acquire()
    if token is None:
        return Outcome(spec=spec)

    external = await external_address(kube, spec, owner)
    for manifest in children(spec, owner, redis_userdb(url), external):
        await kube.apply(manifest)
    await kube.delete(stale_workload_kind(spec), owner.namespace, workload_name(owner))

    before, resource_version = await read_history(kube, owner)
    after = hist.plan(before, spec.rotation, now)
    if after != before:
        manifest = history_secret(owner, hist.dumps(after), resource_version)
        if resource_version is None:
            await kube.create(manifest)
        else:
            await kube.replace(manifest)
    synced: SyncResult = await project(client, spec.realm, token, after)
    rotated = bool(before) and after[-1] != before[-1]
    return Outcome(
        spec=spec,
        current=after[-1],
        rotated=rotated,
        # Nothing new in the history, yet Redis lacked a secret: it lost its data.
        reseeded=bool(before) and not rotated and synced.added > 0,
        retired=synced.removed,
        ready_relays=await ready_relays(kube, spec, owner),
    )


async def read_redis_url(kube: KubeClient, namespace: str, spec: TurnServerSpec) -> str:
    secret = await kube.get("Secret", namespace, spec.redis.secret_name)
    data = (secret or {}).get("data") or {}
    if spec.redis.secret_key not in data:
        raise RedisSecretMissing(
            f"Secret {namespace}/{spec.redis.secret_name} with key {spec.redis.secret_key!r} "
            "not found"
        )
    return base64.b64decode(data[spec.redis.secret_key]).decode().strip()


async def read_history(kube: KubeClient, owner: Owner) -> tuple[hist.History, str | None]:
    secret = await kube.get("Secret", owner.namespace, history_secret_name(owner))
    if secret is None:
        return (), None
    encoded = (secret.get("data") or {}).get(HISTORY_KEY)
    history = hist.loads(base64.b64decode(encoded).decode()) if encoded else ()
    return history, secret["metadata"].get("resourceVersion")


async def external_address(kube: KubeClient, spec: TurnServerSpec, owner: Owner) -> str | None:
    if spec.address_source is AddressSource.STATIC:
        return spec.static_address
    if spec.address_source is AddressSource.LOAD_BALANCER:
        # Known only once the cloud has provisioned the balancer; until then coturn starts without
        # it and the next reconcile rolls it out with the address.
        svc = await kube.get("Service", owner.namespace, workload_name(owner))
        ingress = (((svc or {}).get("status") or {}).get("loadBalancer") or {}).get("ingress")
        if ingress:
            first: dict[str, str] = ingress[0]
            return first.get("ip") or first.get("hostname")
    return None


async def ready_relays(kube: KubeClient, spec: TurnServerSpec, owner: Owner) -> int:
    kind = "DaemonSet" if spec.placement is Placement.HOST_NETWORK else "Deployment"
    obj = await kube.get(kind, owner.namespace, workload_name(owner))
    status = (obj or {}).get("status") or {}
    field = "numberReady" if kind == "DaemonSet" else "readyReplicas"
    return int(status.get(field, 0))
