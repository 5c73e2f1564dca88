"""S3 storage through aioboto3 against moto's server over loopback (mock_aws cannot serve
aioboto3: it patches botocore in-process, and aiobotocore sends real HTTP)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aioboto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from app.providers.errors import StorageError
from app.providers.storage.factory import open_storage
from app.providers.storage.local import LocalStorage
from app.providers.storage.s3 import LIFECYCLE_RULE_ID, S3Storage, open_s3_storage

BUCKET = "holo-audio"
AUDIO = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 4


def session() -> aioboto3.Session:
    return aioboto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
async def bucket(moto_endpoint: str) -> str:
    async with session().client("s3", endpoint_url=moto_endpoint) as client:
        await client.create_bucket(Bucket=BUCKET)
    return BUCKET


@pytest.fixture
async def storage(moto_endpoint: str, bucket: str) -> AsyncIterator[S3Storage]:
    async with open_s3_storage(
        bucket=bucket,
        endpoint_url=moto_endpoint,
        prefix="audio/",
        url_ttl_seconds=900,
        session=session(),
    ) as storage:
        yield storage


async def test_put_then_presigned_get(
    storage: S3Storage, http_client: httpx.AsyncClient, moto_endpoint: str
) -> None:
    url = await storage.put("room-1/reply-1/0.mp3", AUDIO, "audio/mpeg")

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == moto_endpoint
    assert parts.path == f"/{BUCKET}/audio/room-1/reply-1/0.mp3"  # path-style, with the prefix
    query = parse_qs(parts.query)
    assert query["X-Amz-Expires"] == ["900"] and "X-Amz-Signature" in query

    response = await http_client.get(url)
    assert response.status_code == 200
    assert response.content == AUDIO
    assert response.headers["content-type"] == "audio/mpeg"


async def test_url_for_signs_a_fresh_url(
    storage: S3Storage, http_client: httpx.AsyncClient
) -> None:
    await storage.put("room-1/reply-2/0.wav", b"RIFF....WAVE", "audio/wav")

    response = await http_client.get(await storage.url_for("room-1/reply-2/0.wav"))

    assert response.content == b"RIFF....WAVE"
    assert response.headers["content-type"] == "audio/wav"


async def test_keys_are_checked(storage: S3Storage) -> None:
    with pytest.raises(ValueError, match="invalid"):
        await storage.put("../escape.mp3", AUDIO, "audio/mpeg")
    with pytest.raises(ValueError, match=r"must end with \.mp3"):
        await storage.put("room-1/a.wav", AUDIO, "audio/mpeg")


async def test_missing_bucket_is_a_storage_error(moto_endpoint: str) -> None:
    async with open_s3_storage(
        bucket="no-such-bucket", endpoint_url=moto_endpoint, session=session()
    ) as storage:
        with pytest.raises(StorageError) as info:
            await storage.put("a.mp3", AUDIO, "audio/mpeg")
    assert info.value.code == "storage_unavailable"


async def test_storage_down_is_a_storage_error() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with open_s3_storage(
        bucket=BUCKET, endpoint_url=closed, max_attempts=1, connect_timeout=1, session=session()
    ) as storage:
        with pytest.raises(StorageError):
            await storage.put("a.mp3", AUDIO, "audio/mpeg")


async def test_factory_picks_s3_with_a_bucket_else_local(
    moto_endpoint: str, tmp_path: Path
) -> None:
    local = LocalStorage(tmp_path, secret=b"0123456789abcdef")
    async with open_storage(s3_bucket=BUCKET, s3_endpoint_url=moto_endpoint, local=None) as storage:
        assert isinstance(storage, S3Storage)
    async with open_storage(s3_bucket=None, local=local) as storage:
        assert storage is local


async def test_retention_rule_is_merged_with_the_buckets_own_rules(moto_endpoint: str) -> None:
    theirs = {
        "ID": "expire-logs",
        "Filter": {"Prefix": "logs/"},
        "Status": "Enabled",
        "Expiration": {"Days": 90},
    }
    async with session().client("s3", endpoint_url=moto_endpoint) as client:
        await client.create_bucket(Bucket="managed")
        await client.put_bucket_lifecycle_configuration(
            Bucket="managed", LifecycleConfiguration={"Rules": [theirs]}
        )

        async def rules() -> dict[str, dict[str, object]]:
            got = await client.get_bucket_lifecycle_configuration(Bucket="managed")
            return {rule["ID"]: rule for rule in got["Rules"]}

        async with open_s3_storage(
            bucket="managed", endpoint_url=moto_endpoint, prefix="audio/", session=session()
        ) as storage:
            assert await storage.apply_retention(7) is True
            applied = await rules()
            assert applied["expire-logs"]["Expiration"] == {"Days": 90}
            ours = applied[LIFECYCLE_RULE_ID]
            assert ours["Filter"] == {"Prefix": "audio/"} and ours["Status"] == "Enabled"
            assert ours["Expiration"] == {"Days": 7}
            assert await storage.apply_retention(7) is False  # every later start: no write

            assert await storage.apply_retention(30) is True
            assert (await rules())[LIFECYCLE_RULE_ID]["Expiration"] == {"Days": 30}
            # Retention 0 (keep for ever) takes our rule away, and only ours.
            assert await storage.apply_retention(0) is True
            assert list(await rules()) == ["expire-logs"]


async def test_delete_prefix_removes_one_rooms_audio_only(
    storage: S3Storage, moto_endpoint: str, bucket: str
) -> None:
    # Several replies' clips, and a neighbour whose id starts the same.
    for i in range(12):
        await storage.put(f"room-gone/reply-{i // 5}/{i % 5}.mp3", AUDIO[:16], "audio/mpeg")
    await storage.put("room-gone-not/reply-1/0.mp3", AUDIO, "audio/mpeg")

    assert await storage.delete_prefix("room-gone/") == 12

    async with session().client("s3", endpoint_url=moto_endpoint) as client:
        listed = await client.list_objects_v2(Bucket=bucket, Prefix="audio/room-gone")
    assert [o["Key"] for o in listed.get("Contents", [])] == ["audio/room-gone-not/reply-1/0.mp3"]
    with pytest.raises(ValueError):
        await storage.delete_prefix("")
