"""TURN REST API credentials (draft-uberti-behave-turn-rest): coturn's ``use-auth-secret``.

The username carries its own expiry, so coturn can check a credential with nothing but the
shared secret; the secret itself never leaves the server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def mint_turn_credentials(secret: str, user_id: str, ttl: int, now: float) -> tuple[str, str]:
    username = f"{int(now) + ttl}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()
