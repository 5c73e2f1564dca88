"""Identity tokens: guest tokens we sign, and JWTs from an external issuer checked against its JWKS.

The user id and display name of every request and socket come from here, never from a body.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import jwt
from jwt import PyJWK, PyJWKSet

from app.config import Settings
from app.models import Identity

log = logging.getLogger(__name__)

GUEST_ISSUER = "holo-tutor"
GUEST_AUDIENCE = "holo-tutor:guest"
JWKS_CACHE_SECONDS = 300
JWKS_MIN_REFRESH_SECONDS = 30
JWKS_FETCH_TIMEOUT_SECONDS = 5.0
# A token naming a key we do not hold waits this long at most for the issuer.
JWKS_MAX_WAIT_SECONDS = 3.0
MAX_TOKEN_CHARS = 8192


class InvalidToken(Exception):
    """The token is missing, malformed, expired or not signed by anyone we trust."""


class JwksCache:
    """The external issuer's signing keys, fetched with the shared HTTP client.

    Refreshed when they age or when a token names a key we have not seen (the issuer rotated),
    and built for an issuer that is down or slow: one fetch at a time, shared by every request
    that needs it; a token signed with a key we hold never waits for it (the refresh runs
    behind); a token naming an unknown key waits at most ``max_wait``; and a failed fetch is not
    retried for ``JWKS_MIN_REFRESH_SECONDS``, so an outage does not cost a fetch per request.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        url: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_wait: float = JWKS_MAX_WAIT_SECONDS,
    ) -> None:
        self._http = http
        self._url = url
        self._clock = clock
        self._max_wait = max_wait
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None  # last success
        self._attempted_at: float | None = None  # last attempt, successful or not
        self._refresh: asyncio.Task[None] | None = None

    async def key(self, kid: str | None) -> PyJWK:
        now = self._clock()
        known = self._lookup(kid)
        stale = self._fetched_at is None or now - self._fetched_at > JWKS_CACHE_SECONDS
        may_fetch = (
            self._attempted_at is None or now - self._attempted_at > JWKS_MIN_REFRESH_SECONDS
        )
        if known is not None:
            if stale and may_fetch:
                self._start_refresh()
            return known
        if may_fetch or self._refresh is not None:
            refresh = self._start_refresh()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(refresh), self._max_wait)
            known = self._lookup(kid)
        if known is None:
            if not self._keys:
                raise InvalidToken("the identity provider's keys are unavailable")
            raise InvalidToken("token signed by an unknown key")
        return known

    def _lookup(self, kid: str | None) -> PyJWK | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid) if kid is not None else None

    def _start_refresh(self) -> asyncio.Task[None]:
        if self._refresh is None:
            self._attempted_at = self._clock()
            self._refresh = asyncio.create_task(self._fetch(), name="jwks-refresh")
        return self._refresh

    async def _fetch(self) -> None:
        try:
            response = await self._http.get(self._url, timeout=JWKS_FETCH_TIMEOUT_SECONDS)
            response.raise_for_status()
            key_set = PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            # Keep serving with the keys we have; the next attempt waits its turn.
            log.warning("could not refresh the identity provider's keys: %s", exc)
            return
        finally:
            self._refresh = None
        self._keys = {k.key_id or "": k for k in key_set.keys}
        self._fetched_at = self._clock()


class TokenService:
    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self._secret = settings.auth_secret.get_secret_value()
        self._ttl = settings.auth_token_ttl_seconds
        self._issuer = settings.auth_issuer
        self._audience = settings.auth_audience
        self._jwks = JwksCache(http, settings.auth_jwks_url) if settings.auth_jwks_url else None

    def issue_guest(self, display_name: str) -> tuple[str, Identity, int]:
        user_id = f"guest-{uuid.uuid4().hex}"
        expires_at = int(time.time()) + self._ttl
        claims = {
            "sub": user_id,
            "name": display_name,
            "iss": GUEST_ISSUER,
            "aud": GUEST_AUDIENCE,
            "exp": expires_at,
            "iat": int(time.time()),
        }
        token = jwt.encode(claims, self._secret, algorithm="HS256")
        return token, Identity(user_id=user_id, display_name=display_name), expires_at

    async def verify(self, token: str | None) -> Identity:
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise InvalidToken("a bearer token is required")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("malformed token") from exc
        if header.get("alg") == "HS256":
            return self._verify_guest(token)
        if self._jwks is None:
            raise InvalidToken("external tokens are not accepted here")
        return await self._verify_external(token, header)

    def _verify_guest(self, token: str) -> Identity:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=GUEST_AUDIENCE,
                issuer=GUEST_ISSUER,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"invalid token: {exc}") from exc
        return _identity(claims, kind="guest")

    async def _verify_external(self, token: str, header: dict[str, Any]) -> Identity:
        assert self._jwks is not None
        key = await self._jwks.key(header.get("kid"))
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256", "RS384", "RS512", "ES256", "ES384", "EdDSA"],
                audience=self._audience,
                issuer=self._issuer,
                # Settings refuse a key set without both, so both are always checked.
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"invalid token: {exc}") from exc
        return _identity(claims, kind="external")


def _identity(claims: dict[str, Any], *, kind: str) -> Identity:
    sub = str(claims.get("sub", ""))
    if not sub or len(sub) > 200:
        raise InvalidToken("token has no usable subject")
    name = str(claims.get("name") or claims.get("preferred_username") or "Learner")[:64]
    user_id = sub if kind == "guest" else f"ext-{sub}"
    return Identity(
        user_id=user_id, display_name=name, kind="guest" if kind == "guest" else "external"
    )
