"""The operator's Prometheus metrics (listed in docs/operations.md, "Observe")."""

from prometheus_client import Counter, Gauge

ROTATIONS = Counter(
    "holo_turn_rotations",
    "Shared-secret rotations: a new secret became current.",
    ["realm"],
)
SECRET_AGE = Gauge(
    "holo_turn_secret_age_seconds",
    "Age of the current shared secret at the last reconcile.",
    ["realm"],
)


def forget_realm(realm: str) -> None:
    """A standby instance must not keep exporting the age it saw while it led: alerts would
    read a frozen value next to the leader's true one."""
    try:
        SECRET_AGE.remove(realm)
    except KeyError:
        pass
