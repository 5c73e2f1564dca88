"""JWTs from an external identity provider, verified against its JWKS served on loopback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import jwt
import pytest
import socketio
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.clients import Api, SocketClient
from tests.conftest import BASE_ENV
from tests.servers import Replica

ISSUER = "https://idp.example.test/"
AUDIENCE = "holo-tutor"


class IdentityProvider:
    """Signs tokens with its own RSA key and publishes the public half as a JWKS."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "key-1"
        self.jwks_requests = 0

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def token(self, key: Any = None, kid: str | None = None, **claims: Any) -> str:
        body = {
            "sub": "alice-123",
            "name": "Alice",
            "iss": ISSUER,
            "aud": AUDIENCE,
            "exp": int(time.time()) + 600,
            **claims,
        }
        return jwt.encode(
            body, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid}
        )


def _hs256(secret: bytes, **claims: Any) -> str:
    """Sign by hand: PyJWT (rightly) refuses to use a public key as an HMAC secret."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "key-1"}).encode())
    payload = b64(json.dumps({**claims, "exp": int(time.time()) + 600}).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


@pytest.fixture(scope="module")
async def idp() -> AsyncIterator[tuple[IdentityProvider, str]]:
    provider = IdentityProvider()

    async def serve(request: web.Request) -> web.Response:
        provider.jwks_requests += 1
        return web.json_response(provider.jwks())

    app = web.Application()
    app.router.add_get("/.well-known/jwks.json", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield provider, f"http://127.0.0.1:{port}/.well-known/jwks.json"
    await runner.cleanup()


@pytest.fixture(scope="module")
def replica(idp: tuple[IdentityProvider, str]) -> Iterator[Replica]:
    _, jwks_url = idp
    env = {
        **BASE_ENV,
        "HOLO_AUTH_JWKS_URL": jwks_url,
        "HOLO_AUTH_ISSUER": ISSUER,
        "HOLO_AUTH_AUDIENCE": AUDIENCE,
    }
    started = Replica(name="jwks", env=env).start()
    yield started
    started.kill()


async def test_an_external_token_is_accepted_for_rest_and_socket(
    idp: tuple[IdentityProvider, str], replica: Replica, sockets: Callable[..., SocketClient]
) -> None:
    provider, _ = idp
    api = Api(replica.url, provider.token())
    room = await api.create_room()
    view = await api.request("GET", f"/api/rooms/{room['room_id']}")
    assert view.json()["room"]["owner_id"] == "ext-alice-123"
    ws = await sockets(replica.url, provider.token()).connect()
    ack = await ws.call("join", {"room_id": room["room_id"]})
    assert ack["ok"] and ack["you"]["user_id"] == "ext-alice-123"
    assert ack["you"]["display_name"] == "Alice"
    # The keys are cached: more verifications, no more fetches.
    fetched = provider.jwks_requests
    for _ in range(5):
        assert (await api.request("GET", "/api/sessions")).status_code == 200
    assert provider.jwks_requests == fetched == 1


@pytest.mark.parametrize(
    "bad",
    [
        "wrong_audience",
        "wrong_issuer",
        "expired",
        "other_key",
        "unknown_kid",
        "no_sub",
        "hs256_with_public_key",
    ],
)
async def test_bad_external_tokens_are_refused(
    idp: tuple[IdentityProvider, str],
    replica: Replica,
    sockets: Callable[..., SocketClient],
    bad: str,
) -> None:
    provider, _ = idp
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = provider.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = {
        "wrong_audience": lambda: provider.token(aud="someone-else"),
        "wrong_issuer": lambda: provider.token(iss="https://evil.test/"),
        "expired": lambda: provider.token(exp=int(time.time()) - 60),
        "other_key": lambda: provider.token(key=stranger),
        "unknown_kid": lambda: provider.token(key=stranger, kid="key-2"),
        "no_sub": lambda: provider.token(sub=""),
        # Algorithm confusion: the public key used as an HMAC secret must not verify.
        "hs256_with_public_key": lambda: _hs256(
            public_pem, sub="alice-123", iss=ISSUER, aud=AUDIENCE
        ),
    }[bad]()
    r = await Api(replica.url, token).request("GET", "/api/sessions")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"
    refused = sockets(replica.url, token)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.connect(wait_timeout=5)
    assert (await refused.next("connect_error"))["data"] == {"code": "unauthorized"}
