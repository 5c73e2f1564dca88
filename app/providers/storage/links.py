"""Audio links are signed when a message is read: Redis holds storage keys, never URLs.

A signed URL expires (``HOLO_MEDIA_URL_TTL_SECONDS``), a conversation and its transcript do not,
so a stored URL would leave history with dead links. A message's ``audio_urls`` therefore holds
keys in Redis (the field keeps its name so that replicas of the release before, which refuse
unknown fields, still read the conversation during a rolling upgrade) and every reader that
hands messages out (REST history and transcripts, ``join``'s recent messages) passes them
through ``AudioLinks.sign``. Messages stored by that earlier release hold URLs, local
(``/media/{key}?exp=...``) or presigned S3 ones; ``audio_keys`` recovers their keys.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from urllib.parse import unquote, urlsplit

from app.models import Message
from app.providers.errors import StorageError
from app.providers.storage.base import Storage, is_valid_key

log = logging.getLogger(__name__)

# Keys the tutor writes: {room_id}/{reply_id}/{seq}.{ext}; a URL ends with one.
_KEY_SEGMENTS = 3


def audio_key(entry: str) -> str | None:
    """The storage key of one stored ``audio_urls`` entry: a key, or (stored before keys were)
    a URL whose path ends with the key. None for anything else."""
    if is_valid_key(entry):
        return entry
    segments = [unquote(s) for s in urlsplit(entry).path.split("/") if s]
    key = "/".join(segments[-_KEY_SEGMENTS:])
    return key if len(segments) >= _KEY_SEGMENTS and is_valid_key(key) else None


def audio_keys(message: Message) -> list[str]:
    """The keys of a stored message's audio clips, in order (for export and erasure too)."""
    found = (audio_key(entry) for entry in message.audio_urls or ())
    return [key for key in found if key is not None]


class AudioLinks:
    """Turns stored keys into fresh URLs. Audio older than the retention period has been
    deleted (``app/providers/storage/retention.py``), so such messages get no links."""

    def __init__(
        self,
        storage: Storage,
        *,
        retention_seconds: float | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._storage = storage
        self._retention = retention_seconds
        self._clock = clock

    async def sign(self, messages: Sequence[Message]) -> list[Message]:
        oldest = None if self._retention is None else self._clock() - self._retention
        signed: list[Message] = []
        for message in messages:
            if not message.audio_urls:
                signed.append(message)
                continue
            urls: list[str] = []
            if oldest is None or message.ts >= oldest:
                try:
                    urls = [await self._storage.url_for(key) for key in audio_keys(message)]
                except StorageError as exc:
                    log.warning("audio links of message %s not signed: %s", message.id, exc)
            signed.append(message.model_copy(update={"audio_urls": urls or None}))
        return signed
