"""Every store test runs twice: on the embedded store (fakeredis, what `make run` uses) and on a
real redis-server, because the repositories must behave the same on both."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.config import Settings
from app.store.redis import Redis, create_redis
from tests.servers import RedisServer

# A database of its own on the session's redis-server, so flushing it touches no other test.
STORE_TEST_DB = 7


@pytest.fixture(params=["embedded", "redis-server"])
async def redis(request: pytest.FixtureRequest) -> AsyncIterator[Redis]:
    if request.param == "embedded":
        client = create_redis(Settings())
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        client = create_redis(
            Settings(redis_url=f"redis://127.0.0.1:{server.port}/{STORE_TEST_DB}")
        )
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()
