"""Operator settings, read once from the environment (prefix HOLO_OPERATOR_)."""

import os
import socket
import uuid
from dataclasses import dataclass
from typing import Self


@dataclass(frozen=True)
class OperatorConfig:
    # How often each TurnServer is reconciled (rotation is due-checked on every tick).
    tick_seconds: float = 30.0
    # Must outlive a tick comfortably: the leader renews the lock once per tick.
    lock_ttl_seconds: float = 90.0
    metrics_port: int = 9102
    liveness_endpoint: str = "http://0.0.0.0:8080/healthz"
    namespace: str = ""
    instance: str = ""
    verbose: bool = False

    @classmethod
    def from_env(cls) -> Self:
        env = os.environ
        tick = float(env.get("HOLO_OPERATOR_TICK_SECONDS", cls.tick_seconds))
        return cls(
            tick_seconds=tick,
            lock_ttl_seconds=float(env.get("HOLO_OPERATOR_LOCK_TTL_SECONDS", 3 * tick)),
            metrics_port=int(env.get("HOLO_OPERATOR_METRICS_PORT", cls.metrics_port)),
            liveness_endpoint=env.get("HOLO_OPERATOR_LIVENESS", cls.liveness_endpoint),
            namespace=env.get("HOLO_OPERATOR_NAMESPACE", ""),
            instance=env.get("HOLO_OPERATOR_INSTANCE")
            or f"{socket.gethostname()}-{uuid.uuid4().hex[:6]}",
            verbose=env.get("HOLO_OPERATOR_VERBOSE", "") in ("1", "true"),
        )
