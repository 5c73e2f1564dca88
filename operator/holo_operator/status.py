"""The `TurnServer` status written after each reconcile (pure: the handler patches it)."""

from typing import Any

from holo_operator.conditions import Condition, isotime, merge
from holo_operator.failures import Failure
from holo_operator.reconcile import Outcome


def for_outcome(
    outcome: Outcome, previous: dict[str, Any], now: float, generation: int
) -> dict[str, Any]:
    current = outcome.current
    assert current is not None, "a standby instance writes no status"
    ready = outcome.ready_relays > 0
    conditions = [
        Condition("SecretsSynced", True, "Synced", f"secret {current.id} is current"),
        Condition(
            "Ready",
            ready,
            "RelaysReady" if ready else "NoReadyRelays",
            f"{outcome.ready_relays} relay(s) ready",
        ),
    ]
    return {
        "observedGeneration": generation,
        "currentSecretId": current.id,
        "currentSecretCreatedAt": isotime(current.created_at),
        "secretAgeSeconds": max(0, int(now - current.created_at)),
        "lastRotationTime": isotime(current.created_at),
        "readyRelays": outcome.ready_relays,
        "conditions": merge(previous.get("conditions") or [], conditions, now, generation),
    }


def for_failure(
    failure: Failure, previous: dict[str, Any], now: float, generation: int
) -> dict[str, Any]:
    conditions = [
        Condition("SecretsSynced", False, failure.reason, failure.message),
        Condition("Ready", False, failure.reason, failure.message),
    ]
    return {
        "observedGeneration": generation,
        "conditions": merge(previous.get("conditions") or [], conditions, now, generation),
    }
