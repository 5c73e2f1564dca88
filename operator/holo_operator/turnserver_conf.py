"""Render coturn's `turnserver.conf` for a spec.

Only non-secret settings go here (the file lives in a ConfigMap). The Redis connection string and
the external address are passed as command-line arguments by the workload instead.
"""

import ipaddress
from urllib.parse import unquote, urlsplit

from holo_operator.spec import TurnServerSpec

# Peers a relay must never reach: private, loopback, link-local, carrier-grade NAT, documentation,
# benchmarking and reserved ranges (the list from coturn's own security guidance). Without these a
# TURN credential is a ticket into the cluster network.
DENIED_PEER_NETWORKS = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "240.0.0.0/4",
    "::1/128",
    "::ffff:0:0/96",
    "64:ff9b::/96",
    "100::/64",
    "2001::/23",
    "2001:db8::/32",
    "2002::/16",
    "fc00::/7",
    "fe80::/10",
)


def denied_peer_ranges() -> list[str]:
    """coturn wants `first-last` address ranges, not CIDR."""
    return [_range(cidr) for cidr in DENIED_PEER_NETWORKS]


def _range(cidr: str) -> str:
    net = ipaddress.ip_network(cidr)
    return f"{net.network_address}-{net.broadcast_address}"


def render_turnserver_conf(spec: TurnServerSpec) -> str:
    lines = [
        "# Rendered by the holo-turn operator from a TurnServer; edits here are overwritten.",
        f"realm={spec.realm}",
        f"listening-port={spec.ports.listening}",
        f"min-port={spec.ports.relay_min}",
        f"max-port={spec.ports.relay_max}",
        # Shared secrets come from Redis (set by the operator), never from this file.
        "use-auth-secret",
        "fingerprint",
        "no-cli",
        "no-software-attribute",
        "no-multicast-peers",
        # No certificate is provisioned yet: plain UDP/TCP only, rather than a self-signed TLS.
        "no-tls",
        "no-dtls",
        "stale-nonce=600",
        "prometheus",
        "log-file=stdout",
        "simple-log",
        # The image runs with a read-only root; /tmp is an emptyDir.
        "pidfile=/tmp/turnserver.pid",
    ]
    lines += [f"denied-peer-ip={r}" for r in denied_peer_ranges()]
    # coturn lets an allowed range through even inside a denied one.
    lines += [f"allowed-peer-ip={_range(cidr)}" for cidr in spec.allowed_peers]
    return "\n".join(lines) + "\n"


def redis_userdb(url: str) -> str:
    """Translate a redis:// URL into coturn's `redis-userdb` connection string."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"unsupported Redis URL scheme {parts.scheme!r}")
    fields = [
        f"ip={parts.hostname or 'localhost'}",
        f"dbname={(parts.path or '/0').lstrip('/') or '0'}",
        f"port={parts.port or 6379}",
    ]
    if parts.password:
        fields.append(f"password={unquote(parts.password)}")
    fields.append("connect_timeout=30")
    return " ".join(fields)
