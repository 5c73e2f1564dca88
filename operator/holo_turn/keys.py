"""The TURN keys in Redis, shared by the operator (which writes them) and the app (which reads
the current secret; app/store/keys.py re-exports it with the app's other keys).

coturn's key is fixed by coturn itself (`use-auth-secret` + `redis-userdb`): the members of the
set are the shared secrets it accepts. The other keys share the project's `holo:` prefix.
"""

PREFIX = "holo:"


def coturn_secret_set(realm: str) -> str:
    """The Redis SET whose members coturn accepts as TURN REST API secrets."""
    return f"turn/realm/{realm}/secret"


def current_secret_hash(realm: str) -> str:
    """The HASH (`id`, `secret`, `created_at`) the app mints credentials from."""
    return f"{PREFIX}turn:{realm}:current"


def operator_lock(realm: str) -> str:
    """Holds the fencing token of the one operator instance allowed to act for this realm."""
    return f"{PREFIX}turn:{realm}:operator-lock"


def operator_fence(realm: str) -> str:
    """A counter that only grows: each lock acquisition takes the next value as its token."""
    return f"{PREFIX}turn:{realm}:operator-fence"
