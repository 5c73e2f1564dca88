"""Local-directory storage, served by the app itself under signed, expiring URLs.

Used when no bucket is configured (a laptop, a single replica with a volume). A URL looks like
``/media/{key}?exp=1767225600&sig=...``: ``sig`` is an HMAC-SHA256 over the key and the expiry,
so a URL cannot be altered to reach another file or to live longer, and nothing is stored per
URL. ``media_route`` is the Starlette route that serves them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from app.providers.errors import StorageError
from app.providers.storage.base import check_key, content_type_for_key, is_valid_key


def sign(secret: bytes, key: str, exp: int) -> str:
    mac = hmac.new(secret, f"{key}\n{exp}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def verify(secret: bytes, key: str, exp: str | int, sig: str, now: float) -> bool:
    """True when ``sig`` was made by ``sign(secret, key, exp)`` and ``exp`` is not past."""
    try:
        expires = int(exp)
    except (TypeError, ValueError):
        return False
    if expires < now:
        return False
    return hmac.compare_digest(sign(secret, key, expires), sig)


class LocalStorage:
    backend = "local"

    def __init__(
        self,
        root: str | Path,
        *,
        secret: bytes,
        url_prefix: str = "/media",
        url_ttl_seconds: int = 6 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if len(secret) < 16:
            raise ValueError("the media signing secret must be at least 16 bytes")
        self.root = Path(root).resolve()
        self._secret = secret
        self._url_prefix = url_prefix.rstrip("/")
        self._ttl = url_ttl_seconds
        self._clock = clock

    async def put(self, key: str, data: bytes, content_type: str) -> str:
        check_key(key, content_type)
        path = self.root / key
        try:
            await asyncio.to_thread(_write_atomically, path, data)
        except OSError as exc:
            raise StorageError(f"cannot write {key}: {exc}", backend=self.backend) from exc
        return await self.url_for(key)

    async def url_for(self, key: str) -> str:
        if not is_valid_key(key):
            raise ValueError(f"invalid storage key {key!r}")
        exp = int(self._clock()) + self._ttl
        return f"{self._url_prefix}/{key}?exp={exp}&sig={sign(self._secret, key, exp)}"

    async def delete_prefix(self, prefix: str) -> int:
        folder = prefix.rstrip("/")
        path = self.path_for(folder)
        if path is None or path == self.root:
            raise ValueError(f"invalid storage prefix {prefix!r}")
        try:
            return await asyncio.to_thread(_delete_tree, path)
        except OSError as exc:
            raise StorageError(f"cannot delete {prefix}: {exc}", backend=self.backend) from exc

    def verify(self, key: str, exp: str | int, sig: str, now: float) -> bool:
        return verify(self._secret, key, exp, sig, now)

    def path_for(self, key: str) -> Path | None:
        """The file for ``key``, or None for a key that could leave the root."""
        if not is_valid_key(key):
            return None
        path = (self.root / key).resolve()
        return path if path.is_relative_to(self.root) else None

    async def serve(self, request: Request) -> Response:
        key = request.path_params["key"]
        exp = request.query_params.get("exp", "")
        sig = request.query_params.get("sig", "")
        now = self._clock()
        if not self.verify(key, exp, sig, now):
            return PlainTextResponse("invalid or expired link", status_code=403)
        path = self.path_for(key)
        if path is None or not await asyncio.to_thread(path.is_file):
            return PlainTextResponse("not found", status_code=404)
        return FileResponse(
            path,
            media_type=content_type_for_key(key),
            headers={
                "Cache-Control": f"private, max-age={max(0, int(exp) - int(now))}",
                "X-Content-Type-Options": "nosniff",
            },
        )


def media_route(storage: LocalStorage, path: str = "/media/{key:path}") -> Route:
    """Mount in the app when storage is local: ``routes.append(media_route(storage))``."""
    return Route(path, storage.serve, methods=["GET", "HEAD"], name="media")


def _delete_tree(path: Path) -> int:
    if not path.is_dir():
        return 0
    count = sum(1 for p in path.rglob("*") if p.is_file())
    shutil.rmtree(path)
    return count


def _write_atomically(path: Path, data: bytes) -> None:
    # A reader never sees half a file: write beside it, then rename over.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
