"""The Kubernetes objects one `TurnServer` owns, as plain manifests (pure functions, no I/O)."""

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from holo_operator.spec import COTURN_METRICS_PORT, AddressSource, Placement, TurnServerSpec
from holo_operator.turnserver_conf import render_turnserver_conf

API_VERSION = "holotutor.io/v1alpha1"
KIND = "TurnServer"
MANAGER = "holo-turn-operator"
CONF_DIR = "/etc/coturn"
REDIS_USERDB_KEY = "redis-userdb"
HISTORY_KEY = "history.json"

Manifest = dict[str, Any]


@dataclass(frozen=True)
class Owner:
    """The `TurnServer` object that owns the children (garbage-collected with it)."""

    name: str
    namespace: str
    uid: str

    def reference(self) -> dict[str, Any]:
        return {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


def workload_name(owner: Owner) -> str:
    return f"{owner.name}-coturn"


def redis_secret_name(owner: Owner) -> str:
    return f"{owner.name}-coturn-redis"


def history_secret_name(owner: Owner) -> str:
    return f"{owner.name}-turn-secrets"


def selector_labels(owner: Owner) -> dict[str, str]:
    return {"app.kubernetes.io/name": "coturn", "app.kubernetes.io/instance": owner.name}


def labels(owner: Owner) -> dict[str, str]:
    return {
        **selector_labels(owner),
        "app.kubernetes.io/part-of": "holo-tutor",
        "app.kubernetes.io/managed-by": MANAGER,
    }


def _metadata(owner: Owner, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": owner.namespace,
        "labels": labels(owner),
        "ownerReferences": [owner.reference()],
    }


def config_map(spec: TurnServerSpec, owner: Owner) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(owner, workload_name(owner)),
        "data": {"turnserver.conf": render_turnserver_conf(spec)},
    }


def redis_secret(owner: Owner, userdb: str) -> Manifest:
    # The Redis password must not sit in the ConfigMap: coturn gets it as an argument from here.
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(owner, redis_secret_name(owner)),
        "type": "Opaque",
        "data": {REDIS_USERDB_KEY: base64.b64encode(userdb.encode()).decode()},
    }


def history_secret(owner: Owner, history_json: str, resource_version: str | None) -> Manifest:
    metadata = _metadata(owner, history_secret_name(owner))
    if resource_version is not None:
        # Optimistic concurrency: a replace from a stale read is refused with 409.
        metadata["resourceVersion"] = resource_version
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": "Opaque",
        "data": {HISTORY_KEY: base64.b64encode(history_json.encode()).decode()},
    }


def _turn_ports(spec: TurnServerSpec) -> list[dict[str, Any]]:
    return [
        {"name": "turn-udp", "port": spec.ports.listening, "protocol": "UDP"},
        {"name": "turn-tcp", "port": spec.ports.listening, "protocol": "TCP"},
    ]


def service(spec: TurnServerSpec, owner: Owner) -> Manifest:
    metrics = {"name": "metrics", "port": COTURN_METRICS_PORT, "protocol": "TCP"}
    if spec.placement is Placement.HOST_NETWORK:
        # The nodes themselves are the relays; a headless Service gives DNS and metrics discovery.
        svc_spec: dict[str, Any] = {
            "clusterIP": "None",
            "selector": selector_labels(owner),
            "ports": [*_turn_ports(spec), metrics],
        }
    else:
        relay = [
            {"name": f"relay-{port}", "port": port, "protocol": "UDP"}
            for port in range(spec.ports.relay_min, spec.ports.relay_max + 1)
        ]
        svc_spec = {
            "type": "LoadBalancer",
            # Keep client source addresses: coturn's permissions and logs depend on them.
            "externalTrafficPolicy": "Local",
            "selector": selector_labels(owner),
            "ports": [*_turn_ports(spec), *relay, metrics],
        }
    metadata = _metadata(owner, workload_name(owner))
    if spec.service_annotations:
        metadata["annotations"] = dict(spec.service_annotations)
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": svc_spec}


def _args(spec: TurnServerSpec, external_address: str | None) -> list[str]:
    args = ["-c", f"{CONF_DIR}/turnserver.conf", "--redis-userdb=$(REDIS_USERDB)"]
    if spec.address_source is AddressSource.NODE_IP:
        args.append("--external-ip=$(NODE_IP)")
    elif external_address:
        args.append(f"--external-ip={external_address}")
    return args


def _env(spec: TurnServerSpec, owner: Owner) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {
            "name": "REDIS_USERDB",
            "valueFrom": {
                "secretKeyRef": {"name": redis_secret_name(owner), "key": REDIS_USERDB_KEY}
            },
        }
    ]
    if spec.address_source is AddressSource.NODE_IP:
        env.append({"name": "NODE_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}})
    return env


def _pod_template(
    spec: TurnServerSpec, owner: Owner, external_address: str | None, config_hash: str
) -> dict[str, Any]:
    host_network = spec.placement is Placement.HOST_NETWORK
    container_ports: list[dict[str, Any]] = [
        {"name": "turn-udp", "containerPort": spec.ports.listening, "protocol": "UDP"},
        {"name": "turn-tcp", "containerPort": spec.ports.listening, "protocol": "TCP"},
        {"name": "metrics", "containerPort": COTURN_METRICS_PORT, "protocol": "TCP"},
    ]
    probe = {"tcpSocket": {"port": spec.ports.listening}, "periodSeconds": 10}
    container: dict[str, Any] = {
        "name": "coturn",
        "image": spec.image,
        "args": _args(spec, external_address),
        "env": _env(spec, owner),
        "ports": container_ports,
        "livenessProbe": {**probe, "initialDelaySeconds": 5},
        "readinessProbe": probe,
        "resources": spec.resources,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65534,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "config", "mountPath": CONF_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    pod_spec: dict[str, Any] = {
        "containers": [container],
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "automountServiceAccountToken": False,
        "volumes": [
            {"name": "config", "configMap": {"name": workload_name(owner)}},
            {"name": "tmp", "emptyDir": {}},
        ],
    }
    if host_network:
        pod_spec["hostNetwork"] = True
        pod_spec["dnsPolicy"] = "ClusterFirstWithHostNet"
    if spec.node_selector:
        pod_spec["nodeSelector"] = dict(spec.node_selector)
    return {
        # A changed config must restart coturn: it reads turnserver.conf only at start.
        "metadata": {
            "labels": labels(owner),
            "annotations": {"holotutor.io/config-hash": config_hash},
        },
        "spec": pod_spec,
    }


def workload(
    spec: TurnServerSpec, owner: Owner, external_address: str | None, config_hash: str
) -> Manifest:
    template = _pod_template(spec, owner, external_address, config_hash)
    selector = {"matchLabels": selector_labels(owner)}
    metadata = _metadata(owner, workload_name(owner))
    if spec.placement is Placement.HOST_NETWORK:
        return {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": metadata,
            "spec": {
                "selector": selector,
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
                "template": template,
            },
        }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            # One relay per LoadBalancer: a peer's packets to a relay port could reach another
            # replica that has no such allocation. Recreate keeps two coturns off one address.
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": selector,
            "template": template,
        },
    }


def stale_workload_kind(spec: TurnServerSpec) -> str:
    """The workload kind left over if the placement changed; the operator deletes it."""
    return "Deployment" if spec.placement is Placement.HOST_NETWORK else "DaemonSet"


def content_hash(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def children(
    spec: TurnServerSpec, owner: Owner, userdb: str, external_address: str | None
) -> list[Manifest]:
    """Everything the operator applies for one `TurnServer`, in dependency order."""
    cm = config_map(spec, owner)
    config_hash = content_hash(cm["data"]["turnserver.conf"], userdb)
    return [
        cm,
        redis_secret(owner, userdb),
        service(spec, owner),
        workload(spec, owner, external_address, config_hash),
    ]
