"""Map an exception from a reconcile to a status reason and a retry policy."""

from dataclasses import dataclass

import httpx
from redis.exceptions import RedisError

from holo_operator.kube import ConflictError, KubeError
from holo_operator.reconcile import RedisSecretMissing
from holo_operator.redis_projection import FencedError
from holo_operator.spec import SpecError

MAX_BACKOFF_SECONDS = 300.0


@dataclass(frozen=True)
class Failure:
    reason: str
    message: str
    permanent: bool = False


def classify(exc: BaseException) -> Failure:
    # Order matters: ConflictError is a KubeError.
    table: list[tuple[type[BaseException], str, bool]] = [
        (SpecError, "InvalidSpec", True),
        (RedisSecretMissing, "RedisSecretMissing", False),
        (FencedError, "LostLeadership", False),
        (RedisError, "RedisUnavailable", False),
        (ConflictError, "Conflict", False),
        (KubeError, "KubernetesApiError", False),
        (httpx.HTTPError, "KubernetesApiUnreachable", False),
    ]
    for kind, reason, permanent in table:
        if isinstance(exc, kind):
            return Failure(reason=reason, message=str(exc) or kind.__name__, permanent=permanent)
    return Failure(reason="InternalError", message=f"{type(exc).__name__}: {exc}")


def backoff(retry: int, base: float = 1.0) -> float:
    """Exponential, capped: 1, 2, 4, ... seconds up to five minutes."""
    return float(min(MAX_BACKOFF_SECONDS, base * 2 ** min(retry, 16)))
