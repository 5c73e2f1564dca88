"""The storage interface: put bytes under a key, get a URL a browser can fetch them from.

Keys are chosen by the pipeline (``{room_id}/{reply_id}/{seq}.mp3``); their extension must name
the content type, so a local file is served with the type it was stored with. URLs expire
(presigned S3 URLs, HMAC-signed local URLs); ``url_for`` signs a fresh one for an existing key.
Backend failures raise ``app.providers.errors.StorageError``.
"""

from __future__ import annotations

import re
from typing import Protocol

_TYPES = {
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".ogg": "audio/ogg",
    ".pcm": "audio/L16",
    ".ulaw": "audio/basic",
}
_EXTENSIONS = {content_type: ext for ext, content_type in _TYPES.items()}
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)*")
MAX_KEY_LENGTH = 512


class Storage(Protocol):
    backend: str

    async def put(self, key: str, data: bytes, content_type: str) -> str:
        """Store ``data`` under ``key`` and return a URL for it."""
        ...

    async def url_for(self, key: str) -> str:
        """A fresh URL for an object stored earlier (the one from ``put`` expires)."""
        ...

    async def delete_prefix(self, prefix: str) -> int:
        """Delete every object whose key starts with ``prefix`` (a room's ``{room_id}/``, when
        a learner erases their data); returns how many were deleted."""
        ...


def extension_for(content_type: str) -> str:
    """``.mp3`` for ``audio/mpeg``: the extension a key for this content type must end with."""
    base = content_type.split(";", 1)[0].strip().lower()
    if base == "audio/x-wav":
        base = "audio/wav"
    if base not in _EXTENSIONS:
        raise ValueError(f"no storage extension for content type {content_type!r}")
    return _EXTENSIONS[base]


def content_type_for_key(key: str) -> str:
    dot = key.rfind(".")
    return (
        _TYPES.get(key[dot:].lower(), "application/octet-stream")
        if dot > 0
        else ("application/octet-stream")
    )


def is_valid_key(key: str) -> bool:
    """Relative, slash-separated, no empty/dot-leading segments (so no ``..``), safe characters."""
    return len(key) <= MAX_KEY_LENGTH and _KEY.fullmatch(key) is not None


def check_key(key: str, content_type: str) -> None:
    if not is_valid_key(key):
        raise ValueError(f"invalid storage key {key!r}")
    if not key.lower().endswith(extension_for(content_type)):
        raise ValueError(f"key {key!r} must end with {extension_for(content_type)}")
