"""TURN REST API credentials (draft-uberti-behave-turn-rest), exactly as coturn's
``use-auth-secret`` checks them: the username carries its own expiry, so coturn can check a
credential with nothing but the shared secret, and the secret never leaves the servers."""

import base64
import hashlib
import hmac
import secrets


def mint_turn_credentials(secret: str, user_id: str, ttl: int, now: float) -> tuple[str, str]:
    """Return `(username, password)` valid until `now + ttl` for any coturn holding `secret`."""
    username = f"{int(now) + ttl}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def new_shared_secret() -> str:
    """A fresh shared secret: 256 random bits, URL-safe so it survives configs and shells."""
    return secrets.token_urlsafe(32)


def new_secret_id() -> str:
    """A short public name for a secret, safe to show in status, logs and metrics."""
    return secrets.token_hex(6)
