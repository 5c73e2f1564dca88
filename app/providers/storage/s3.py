"""S3 (or any S3-compatible store: MinIO, moto) through aioboto3.

One client per process: ``open_s3_storage`` is an async context manager the app lifespan enters
once. botocore's ``standard`` retry mode retries throttling and transient errors with backoff;
objects get their ContentType, and URLs are presigned GETs that expire.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aioboto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from app.providers.errors import StorageError
from app.providers.storage.base import check_key, is_valid_key

# The bucket's lifecycle rule for our audio, found again by its id at every start.
LIFECYCLE_RULE_ID = "holo-tutor-audio-retention"


class S3Storage:
    backend = "s3"

    def __init__(
        self, client: Any, *, bucket: str, prefix: str = "", url_ttl_seconds: int = 6 * 3600
    ) -> None:
        self._client = client  # an aiobotocore S3 client (untyped)
        self.bucket = bucket
        self.prefix = prefix
        self._ttl = url_ttl_seconds

    async def put(self, key: str, data: bytes, content_type: str) -> str:
        check_key(key, content_type)
        try:
            await self._client.put_object(
                Bucket=self.bucket, Key=self.prefix + key, Body=data, ContentType=content_type
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot store {key}: {exc}", backend=self.backend) from exc
        return await self.url_for(key)

    async def delete_prefix(self, prefix: str) -> int:
        if not prefix or not is_valid_key(prefix.rstrip("/")):
            raise ValueError(f"invalid storage prefix {prefix!r}")
        deleted = 0
        try:
            paginator = self._client.get_paginator("list_objects_v2")
            async for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                objects = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if objects:  # a page holds at most 1000 keys: one DeleteObjects call
                    await self._client.delete_objects(
                        Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True}
                    )
                    deleted += len(objects)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot delete {prefix}: {exc}", backend=self.backend) from exc
        return deleted

    async def url_for(self, key: str) -> str:
        if not is_valid_key(key):
            raise ValueError(f"invalid storage key {key!r}")
        try:
            url: str = await self._client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": self.prefix + key},
                ExpiresIn=self._ttl,
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot sign a URL for {key}: {exc}", backend=self.backend) from exc
        return url

    async def apply_retention(self, days: int) -> bool:
        """Make the bucket expire objects under our prefix ``days`` after they were written
        (0: no such rule). S3 replaces a bucket's lifecycle configuration as a whole, so the
        bucket's other rules are read and kept. Returns whether the bucket was changed."""
        try:
            current = await self._client.get_bucket_lifecycle_configuration(Bucket=self.bucket)
            rules: list[dict[str, Any]] = current.get("Rules", [])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchLifecycleConfiguration":
                raise StorageError(
                    f"cannot read the lifecycle rules: {exc}", backend=self.backend
                ) from exc
            rules = []
        except BotoCoreError as exc:
            raise StorageError(
                f"cannot read the lifecycle rules: {exc}", backend=self.backend
            ) from exc
        others = [rule for rule in rules if rule.get("ID") != LIFECYCLE_RULE_ID]
        wanted = others
        if days > 0:
            ours = {
                "ID": LIFECYCLE_RULE_ID,
                "Filter": {"Prefix": self.prefix},
                "Status": "Enabled",
                "Expiration": {"Days": days},
            }
            wanted = [*others, ours]
        if _same_rules(rules, wanted):
            return False
        try:
            if wanted:
                await self._client.put_bucket_lifecycle_configuration(
                    Bucket=self.bucket, LifecycleConfiguration={"Rules": wanted}
                )
            else:
                await self._client.delete_bucket_lifecycle(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(
                f"cannot set the lifecycle rule: {exc}", backend=self.backend
            ) from exc
        return True


def _same_rules(current: list[dict[str, Any]], wanted: list[dict[str, Any]]) -> bool:
    # S3 may echo a rule with fields filled in (an empty Filter, ...): compare what we set.
    def ours(rules: list[dict[str, Any]]) -> list[Any]:
        return [
            (r.get("Filter"), r.get("Status"), r.get("Expiration"))
            for r in rules
            if r.get("ID") == LIFECYCLE_RULE_ID
        ]

    return len(current) == len(wanted) and ours(current) == ours(wanted)


@asynccontextmanager
async def open_s3_storage(
    *,
    bucket: str,
    region: str = "us-east-1",
    endpoint_url: str | None = None,
    prefix: str = "",
    url_ttl_seconds: int = 6 * 3600,
    connect_timeout: float = 5.0,
    read_timeout: float = 10.0,
    max_attempts: int = 3,
    session: aioboto3.Session | None = None,
) -> AsyncIterator[S3Storage]:
    """Credentials come from botocore's usual chain (env, IRSA, instance profile) unless a
    ``session`` with explicit ones is passed."""
    config = Config(
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        signature_version="s3v4",
        # Custom endpoints (MinIO, moto) rarely have wildcard DNS for virtual-hosted buckets.
        s3={"addressing_style": "path" if endpoint_url else "auto"},
    )
    session = session or aioboto3.Session()
    async with session.client(
        "s3", region_name=region, endpoint_url=endpoint_url, config=config
    ) as client:
        yield S3Storage(client, bucket=bucket, prefix=prefix, url_ttl_seconds=url_ttl_seconds)
