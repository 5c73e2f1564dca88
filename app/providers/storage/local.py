"""Local-directory storage, served by the app itself under signed, expiring URLs.

Used when no bucket is configured (a laptop, a single replica with a volume). A URL looks like
``/media/{key}?exp=1767225600&sig=...``: ``sig`` is an HMAC-SHA256 over the key and the expiry,
so a URL cannot be altered to reach another file or to live longer, and nothing is stored per
URL. The app serves them (``app/api/media.py``); a provider serves no HTTP.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from app.providers.errors import StorageError
from app.providers.storage.base import check_key, is_valid_key


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
        self.clock = clock

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
        exp = int(self.clock()) + self._ttl
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

    async def sweep(self, older_than: float) -> int:
        """Delete files last written before ``older_than`` (a Unix time) and the directories
        they leave empty; returns how many files went."""
        return await asyncio.to_thread(_sweep, self.root, older_than)

    def verify(self, key: str, exp: str | int, sig: str, now: float) -> bool:
        return verify(self._secret, key, exp, sig, now)

    def path_for(self, key: str) -> Path | None:
        """The file for ``key``, or None for a key that could leave the root."""
        if not is_valid_key(key):
            return None
        path = (self.root / key).resolve()
        return path if path.is_relative_to(self.root) else None


def _sweep(root: Path, older_than: float) -> int:
    walked = list(os.walk(root))  # parents before children
    # Directory ages from before the sweep: removing a file makes its directory look new.
    written = {folder: os.stat(folder).st_mtime for folder, _, _ in walked}
    removed = 0
    for folder, _, files in reversed(walked):
        for name in files:
            path = Path(folder) / name
            with contextlib.suppress(FileNotFoundError):  # another replica on a shared volume
                if path.lstat().st_mtime < older_than:
                    path.unlink()
                    removed += 1
        # Only an old directory: a fresh one may be about to receive its first file.
        if Path(folder) != root and written[folder] < older_than:
            with contextlib.suppress(OSError):  # not empty, or already gone
                os.rmdir(folder)
    return removed


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
