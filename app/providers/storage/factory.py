"""Opens the configured storage for the app's lifespan: S3 when a bucket is set, else local."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.providers.storage.base import Storage
from app.providers.storage.local import LocalStorage
from app.providers.storage.s3 import open_s3_storage


@asynccontextmanager
async def open_storage(
    *,
    s3_bucket: str | None,
    s3_region: str = "us-east-1",
    s3_endpoint_url: str | None = None,
    s3_prefix: str = "",
    url_ttl_seconds: int = 6 * 3600,
    local: LocalStorage | None,
) -> AsyncIterator[Storage]:
    """With no bucket, ``local`` (the instance whose media route the app mounted) is used."""
    if s3_bucket:
        async with open_s3_storage(
            bucket=s3_bucket,
            region=s3_region,
            endpoint_url=s3_endpoint_url,
            prefix=s3_prefix,
            url_ttl_seconds=url_ttl_seconds,
        ) as storage:
            yield storage
        return
    if local is None:
        raise ValueError("no bucket and no local media directory")
    yield local
