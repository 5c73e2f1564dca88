"""The `TurnServer` spec as typed values, with the defaults the CRD documents.

The CRD schema already rejects most bad input; this module checks what a schema cannot say
(cross-field rules) and raises `SpecError`, which the handlers treat as permanent.
"""

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

DEFAULT_IMAGE = "docker.io/coturn/coturn:4.6.1"
# coturn serves Prometheus metrics on this fixed port when built with libprom.
COTURN_METRICS_PORT = 9641
# A LoadBalancer Service lists every relay port one by one; cloud balancers cap the port count.
MAX_LOAD_BALANCER_RELAY_PORTS = 100


class SpecError(ValueError):
    """The spec cannot be turned into a working coturn; retrying will not help."""


class Placement(StrEnum):
    HOST_NETWORK = "HostNetwork"
    LOAD_BALANCER = "LoadBalancer"


class AddressSource(StrEnum):
    NONE = "None"
    STATIC = "Static"
    NODE_IP = "NodeIP"
    LOAD_BALANCER = "LoadBalancer"


@dataclass(frozen=True)
class Ports:
    listening: int = 3478
    relay_min: int = 49152
    relay_max: int = 65535


@dataclass(frozen=True)
class Rotation:
    interval_seconds: int = 86400
    credential_ttl_seconds: int = 3600
    clock_skew_seconds: int = 60


@dataclass(frozen=True)
class RedisRef:
    secret_name: str
    secret_key: str = "url"


@dataclass(frozen=True)
class TurnServerSpec:
    realm: str
    redis: RedisRef
    placement: Placement = Placement.LOAD_BALANCER
    node_selector: dict[str, str] = field(default_factory=dict)
    service_annotations: dict[str, str] = field(default_factory=dict)
    ports: Ports = Ports()
    address_source: AddressSource = AddressSource.NONE
    static_address: str | None = None
    rotation: Rotation = Rotation()
    image: str = DEFAULT_IMAGE
    resources: dict[str, Any] = field(default_factory=dict)
    # Private networks a relay may reach anyway (the pods where the tutor's WebRTC peers listen).
    allowed_peers: tuple[str, ...] = ()

    @property
    def relay_port_count(self) -> int:
        return self.ports.relay_max - self.ports.relay_min + 1


def parse_spec(raw: dict[str, Any]) -> TurnServerSpec:
    """Build a `TurnServerSpec` from the custom resource's `spec`, or raise `SpecError`."""
    try:
        placement = raw.get("placement", {})
        ports = raw.get("ports", {})
        address = raw.get("externalAddress", {})
        rotation = raw.get("rotation", {})
        redis = raw["redis"]["secretRef"]
        spec = TurnServerSpec(
            realm=raw["realm"],
            redis=RedisRef(secret_name=redis["name"], secret_key=redis.get("key", "url")),
            placement=Placement(placement.get("mode", Placement.LOAD_BALANCER)),
            node_selector=dict(placement.get("nodeSelector", {})),
            service_annotations=dict(placement.get("serviceAnnotations", {})),
            ports=Ports(
                listening=int(ports.get("listening", Ports.listening)),
                relay_min=int(ports.get("relayMin", Ports.relay_min)),
                relay_max=int(ports.get("relayMax", Ports.relay_max)),
            ),
            address_source=AddressSource(address.get("source", AddressSource.NONE)),
            static_address=address.get("address"),
            rotation=Rotation(
                interval_seconds=int(rotation.get("intervalSeconds", Rotation.interval_seconds)),
                credential_ttl_seconds=int(
                    rotation.get("credentialTTLSeconds", Rotation.credential_ttl_seconds)
                ),
                clock_skew_seconds=int(
                    rotation.get("clockSkewSeconds", Rotation.clock_skew_seconds)
                ),
            ),
            image=raw.get("image", DEFAULT_IMAGE),
            resources=dict(raw.get("resources", {})),
            allowed_peers=tuple(str(ipaddress.ip_network(c)) for c in raw.get("allowedPeers", [])),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SpecError(f"invalid spec: {exc!r}") from exc
    _check(spec)
    return spec


def _check(spec: TurnServerSpec) -> None:
    for cidr in spec.allowed_peers:
        network = ipaddress.ip_network(cidr)
        if network.prefixlen < (8 if network.version == 4 else 32):
            raise SpecError(f"allowedPeers: {cidr} is wider than a relay should reach")
    if spec.ports.relay_min > spec.ports.relay_max:
        raise SpecError("ports.relayMin must not exceed ports.relayMax")
    if spec.address_source is AddressSource.STATIC and not spec.static_address:
        raise SpecError("externalAddress.source Static needs externalAddress.address")
    if spec.placement is Placement.LOAD_BALANCER:
        if spec.relay_port_count > MAX_LOAD_BALANCER_RELAY_PORTS:
            raise SpecError(
                f"placement LoadBalancer publishes each relay port; keep the range at most "
                f"{MAX_LOAD_BALANCER_RELAY_PORTS} ports (got {spec.relay_port_count})"
            )
        if spec.address_source is AddressSource.NODE_IP:
            raise SpecError("externalAddress.source NodeIP needs placement HostNetwork")
    elif spec.address_source is AddressSource.LOAD_BALANCER:
        raise SpecError("externalAddress.source LoadBalancer needs placement LoadBalancer")
