"""Identity tokens: guest tokens we sign, and JWTs from an external issuer checked against its JWKS.

The user id and display name of every request and socket come from here, never from a body.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import jwt
from jwt import PyJWK, PyJWKSet

from app.config import Settings
from app.models import Identity

GUEST_ISSUER = "holo-tutor"
GUEST_AUDIENCE = "holo-tutor:guest"
JWKS_CACHE_SECONDS = 300
JWKS_MIN_REFRESH_SECONDS = 30
MAX_TOKEN_CHARS = 8192


class InvalidToken(Exception):
    """The token is missing, malformed, expired or not signed by anyone we trust."""


class JwksCache:
    """The external issuer's signing keys, fetched with the shared HTTP client and refreshed when
    they age or when a token names a key we have not seen (the issuer rotated)."""

    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self._http = http
        self._url = url
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def key(self, kid: str | None) -> PyJWK:
        now = time.monotonic()
        if now - self._fetched_at > JWKS_CACHE_SECONDS or (
            kid not in self._keys and now - self._fetched_at > JWKS_MIN_REFRESH_SECONDS
        ):
            await self._refresh()
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        if kid is None or kid not in self._keys:
            raise InvalidToken("token signed by an unknown key")
        return self._keys[kid]

    async def _refresh(self) -> None:
        async with self._lock:
            try:
                response = await self._http.get(self._url, timeout=5.0)
                response.raise_for_status()
                key_set = PyJWKSet.from_dict(response.json())
            except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
                if not self._keys:
                    raise InvalidToken("the identity provider's keys are unavailable") from exc
                return  # keep serving with the keys we have
            self._keys = {k.key_id or "": k for k in key_set.keys}
            self._fetched_at = time.monotonic()


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
                options={
                    "require": ["exp", "sub"],
                    "verify_aud": self._audience is not None,
                    "verify_iss": self._issuer is not None,
                },
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
