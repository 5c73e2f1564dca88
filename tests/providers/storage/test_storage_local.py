"""Local storage: signed, expiring URLs and the route that serves them, over loopback HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from app.api.media import media_route
from app.providers.storage.local import LocalStorage, sign, verify
from tests.stubs.server import BackgroundServer

SECRET = b"media-signing-secret-for-tests"
NOW = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def storage(tmp_path: Path, clock: Clock) -> LocalStorage:
    return LocalStorage(tmp_path / "media", secret=SECRET, url_ttl_seconds=600, clock=clock)


@pytest.fixture
def server(storage: LocalStorage) -> Iterator[BackgroundServer]:
    with BackgroundServer(Starlette(routes=[media_route(storage)])) as server:
        yield server


def parts(url: str) -> tuple[str, str, str]:
    split = urlsplit(url)
    query = parse_qs(split.query)
    return split.path.removeprefix("/media/"), query["exp"][0], query["sig"][0]


def test_verify_valid_tampered_expired() -> None:
    exp = int(NOW) + 60
    sig = sign(SECRET, "r/1/0.mp3", exp)
    assert verify(SECRET, "r/1/0.mp3", exp, sig, NOW)
    assert verify(SECRET, "r/1/0.mp3", str(exp), sig, NOW + 60)  # valid up to its expiry
    assert not verify(SECRET, "r/1/0.mp3", exp, sig, NOW + 61)  # expired
    assert not verify(SECRET, "r/1/1.mp3", exp, sig, NOW)  # another key
    assert not verify(SECRET, "r/1/0.mp3", exp + 3600, sig, NOW)  # a longer life
    assert not verify(SECRET, "r/1/0.mp3", exp, sig[:-1] + "A", NOW)  # altered signature
    assert not verify(b"another-secret-entirely", "r/1/0.mp3", exp, sig, NOW)
    assert not verify(SECRET, "r/1/0.mp3", "soon", sig, NOW)


async def test_put_writes_the_file_and_signs_a_url(storage: LocalStorage) -> None:
    url = await storage.put("room-1/reply-1/0.mp3", b"audio", "audio/mpeg")

    key, exp, sig = parts(url)
    assert url.startswith("/media/room-1/reply-1/0.mp3?")
    assert key == "room-1/reply-1/0.mp3" and int(exp) == int(NOW) + 600
    assert storage.verify(key, exp, sig, NOW)
    assert (storage.root / "room-1/reply-1/0.mp3").read_bytes() == b"audio"
    assert not [p for p in (storage.root / "room-1/reply-1").iterdir() if p.name.startswith(".")]


async def test_route_serves_with_content_type(
    storage: LocalStorage, server: BackgroundServer, http_client: httpx.AsyncClient
) -> None:
    url = await storage.put("room-1/reply-1/0.wav", b"RIFF-audio", "audio/wav")

    response = await http_client.get(server.url + url)

    assert response.status_code == 200
    assert response.content == b"RIFF-audio"
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "private, max-age=600"


async def test_route_refuses_bad_and_expired_links(
    storage: LocalStorage, server: BackgroundServer, http_client: httpx.AsyncClient, clock: Clock
) -> None:
    url = await storage.put("room-1/reply-1/0.mp3", b"audio", "audio/mpeg")
    key, exp, sig = parts(url)
    other = await storage.put("room-1/reply-1/1.mp3", b"other", "audio/mpeg")

    async def status(path: str) -> int:
        return (await http_client.get(server.url + path)).status_code

    assert await status(f"/media/{key}?exp={exp}&sig={sig}") == 200
    assert await status(f"/media/{parts(other)[0]}?exp={exp}&sig={sig}") == 403
    assert await status(f"/media/{key}?exp={int(exp) + 1}&sig={sig}") == 403
    assert await status(f"/media/{key}") == 403
    clock.now = int(exp) + 1
    assert await status(url) == 403


async def test_route_404_for_a_missing_file(
    storage: LocalStorage, server: BackgroundServer, http_client: httpx.AsyncClient
) -> None:
    url = await storage.url_for("room-9/never/0.mp3")
    assert (await http_client.get(server.url + url)).status_code == 404


async def test_no_path_traversal(
    storage: LocalStorage,
    server: BackgroundServer,
    http_client: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    (tmp_path / "secret.mp3").write_bytes(b"outside the media root")
    storage.root.mkdir(parents=True, exist_ok=True)

    for key in ("../secret.mp3", "/etc/passwd", "a//b.mp3", "./a.mp3", "a/../../secret.mp3"):
        with pytest.raises(ValueError):
            await storage.put(key, b"x", "audio/mpeg")
        with pytest.raises(ValueError):
            await storage.url_for(key)

    # Even a correctly signed link to an escaping key is not served (the signature is checked
    # first, but the path check must not depend on it). %2e%2e survives client-side
    # normalisation and reaches the route as "..".
    exp = int(NOW) + 60
    escaping = "../secret.mp3"
    url = f"/media/%2e%2e/secret.mp3?exp={exp}&sig={sign(SECRET, escaping, exp)}"
    response = await http_client.get(server.url + url)
    assert response.status_code == 404

    # A symlink inside the root that points outside is not followed out.
    os.symlink(tmp_path / "secret.mp3", storage.root / "link.mp3")
    response = await http_client.get(server.url + await storage.url_for("link.mp3"))
    assert response.status_code == 404


def test_secret_must_be_long_enough(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        LocalStorage(tmp_path, secret=b"short")


async def test_delete_prefix_removes_one_rooms_files_only(storage: LocalStorage) -> None:
    for key in ("room-gone/r1/0.mp3", "room-gone/r2/0.mp3", "room-kept/r1/0.mp3"):
        await storage.put(key, b"ID3", "audio/mpeg")

    assert await storage.delete_prefix("room-gone/") == 2
    assert not (storage.root / "room-gone").exists()
    assert (storage.root / "room-kept" / "r1" / "0.mp3").is_file()
    assert await storage.delete_prefix("room-gone/") == 0  # repeatable
    for bad in ("", "/", "../outside/", "room-kept/../.."):
        with pytest.raises(ValueError):
            await storage.delete_prefix(bad)
