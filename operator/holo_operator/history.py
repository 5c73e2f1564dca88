"""The secret history: which shared secrets exist, which is current, which may go (pure logic).

The history is the source of truth (kept in a Kubernetes Secret); coturn's Redis set and the
app's current hash are projections of it, rebuilt from it whenever they drift or get lost.
"""

import itertools
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass

from holo_turn.credentials import new_secret_id, new_shared_secret

from holo_operator.spec import Rotation


@dataclass(frozen=True)
class SharedSecret:
    id: str
    secret: str
    created_at: float


# Oldest first; the last entry is the current secret.
History = tuple[SharedSecret, ...]


def generate(now: float) -> SharedSecret:
    return SharedSecret(id=new_secret_id(), secret=new_shared_secret(), created_at=now)


def plan(
    history: History,
    rotation: Rotation,
    now: float,
    make: Callable[[float], SharedSecret] = generate,
) -> History:
    """The history as it should be at `now`; equal to the input when nothing is due.

    A secret stops being current when its successor is created. Credentials minted from it just
    before that moment stay valid for the credential TTL, and clocks differ by up to the skew,
    so it stays accepted until `successor.created_at + ttl + skew`.
    """
    if not history or now - history[-1].created_at >= rotation.interval_seconds:
        history = (*history, make(now))
    grace = rotation.credential_ttl_seconds + rotation.clock_skew_seconds
    kept = [
        entry
        for entry, successor in itertools.pairwise(history)
        if successor.created_at + grace > now
    ]
    return (*kept, history[-1])


def accepted(history: History) -> list[str]:
    """The secrets coturn must accept: every entry still in the history."""
    return [entry.secret for entry in history]


def dumps(history: History) -> str:
    return json.dumps([asdict(entry) for entry in history], sort_keys=True)


def loads(text: str) -> History:
    return tuple(SharedSecret(**entry) for entry in json.loads(text))
