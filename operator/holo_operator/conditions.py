"""Status conditions, Kubernetes style: a transition time that moves only when status moves."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Condition:
    type: str
    status: bool
    reason: str
    message: str


def isotime(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge(
    previous: list[dict[str, Any]], updates: list[Condition], now: float, generation: int
) -> list[dict[str, Any]]:
    """Apply `updates` to the previous conditions, keeping types not updated."""
    by_type = {c["type"]: c for c in previous}
    for update in updates:
        status = "True" if update.status else "False"
        old = by_type.get(update.type)
        changed = old is None or old.get("status") != status
        by_type[update.type] = {
            "type": update.type,
            "status": status,
            "reason": update.reason,
            "message": update.message,
            "lastTransitionTime": isotime(now) if changed else old["lastTransitionTime"],  # type: ignore[index]
            "observedGeneration": generation,
        }
    return sorted(by_type.values(), key=lambda c: str(c["type"]))
