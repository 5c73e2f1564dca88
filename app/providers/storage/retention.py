"""Audio is kept ``HOLO_MEDIA_RETENTION_DAYS`` and then deleted, by age alone.

Nothing is deleted when a room or a session ends: history keeps its audio for the whole
retention period. Local media is swept by every replica (its own directory) at start and then
hourly; an S3 bucket gets a lifecycle rule at start, which S3 itself enforces
(``HOLO_S3_APPLY_LIFECYCLE=false`` leaves the bucket's rules to whoever manages it).
"""

from __future__ import annotations

import asyncio
import logging
import time

from app.providers.errors import StorageError
from app.providers.storage.base import Storage
from app.providers.storage.local import LocalStorage
from app.providers.storage.s3 import S3Storage

log = logging.getLogger(__name__)

DAY = 24 * 3600
SWEEP_INTERVAL_SECONDS = 3600.0


async def apply_bucket_rule(storage: Storage, *, days: int) -> None:
    """At start, before the replica is ready: give an S3 bucket the retention rule. A bucket
    that refuses (no permission, S3 down) costs a warning, never the start; the caller bounds
    the wait."""
    if not isinstance(storage, S3Storage):
        return
    try:
        changed = await storage.apply_retention(days)
    except StorageError as exc:
        log.warning(
            "audio retention rule not applied to bucket %s (%s); give the bucket the rule "
            "yourself and set HOLO_S3_APPLY_LIFECYCLE=false",
            storage.bucket,
            exc,
        )
        return
    if changed:
        log.info("bucket %s: audio now expires %d days after it is written", storage.bucket, days)


async def sweep_local_media(
    storage: Storage, *, days: int, interval: float = SWEEP_INTERVAL_SECONDS
) -> None:
    """For the app's lifetime (a task of the lifespan): sweep now, then every ``interval``."""
    if not isinstance(storage, LocalStorage) or days == 0:
        return
    while True:
        try:
            removed = await storage.sweep(time.time() - days * DAY)
        except OSError as exc:
            log.warning("media sweep of %s failed: %s", storage.root, exc)
        else:
            if removed:
                log.info("media sweep: %d audio files older than %d days deleted", removed, days)
        await asyncio.sleep(interval)
