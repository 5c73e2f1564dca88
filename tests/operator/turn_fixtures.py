"""Small builders shared by the operator tests (kept out of conftest so tests import them)."""

import base64
from typing import Any

from kube_api_standin import KubeApiStandin

NAMESPACE = "holo"


def turnserver(name: str = "turn", realm: str = "turn.test", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "realm": realm,
        "redis": {"secretRef": {"name": "holo-redis"}},
        "placement": {"mode": "LoadBalancer"},
        "ports": {"listening": 3478, "relayMin": 50000, "relayMax": 50009},
        "rotation": {"intervalSeconds": 100, "credentialTTLSeconds": 30, "clockSkewSeconds": 5},
    }
    body.update(spec)
    return {
        "apiVersion": "holotutor.io/v1alpha1",
        "kind": "TurnServer",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": body,
    }


async def put_redis_secret(api: KubeApiStandin, url: str, name: str = "holo-redis") -> None:
    await api.put_object(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "type": "Opaque",
            "data": {"url": base64.b64encode(url.encode()).decode()},
        }
    )


def coturn_inputs(api: KubeApiStandin, name: str = "turn") -> tuple[str, str]:
    """What the operator wrote for coturn: its turnserver.conf and its Redis userdb connection."""
    conf = api.get("ConfigMap", NAMESPACE, f"{name}-coturn")
    redis_secret = api.get("Secret", NAMESPACE, f"{name}-coturn-redis")
    assert conf is not None and redis_secret is not None
    userdb = base64.b64decode(redis_secret["data"]["redis-userdb"]).decode()
    return conf["data"]["turnserver.conf"], userdb
