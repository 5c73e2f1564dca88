"""Every store test runs three times: on the embedded store (fakeredis, what `make run` uses), on a
real redis-server and on a real Redis Cluster, because the repositories must behave the same on
all of them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.config import Settings
from app.store.redis import Redis, create_redis
from tests.servers import RedisClusterServers, RedisServer

# A database of its own on the session's redis-server, so flushing it touches no other test.
STORE_TEST_DB = 7


@pytest.fixture(params=["embedded", "redis-server", "redis-cluster"])
async def redis(request: pytest.FixtureRequest) -> AsyncIterator[Redis]:
    if request.param == "embedded":
        client = create_redis(Settings())
    elif request.param == "redis-cluster":
        # No command or script of the store may span two slots (a cluster refuses it).
        servers: RedisClusterServers = request.getfixturevalue("redis_cluster")
        client = create_redis(Settings(redis_url=servers.url))
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        client = create_redis(
            Settings(redis_url=f"redis://127.0.0.1:{server.port}/{STORE_TEST_DB}")
        )
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()
