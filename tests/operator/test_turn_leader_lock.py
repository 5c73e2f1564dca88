"""Only one instance acts: the lock, and fencing of a replica that was paused while it led."""

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from holo_operator.history import SharedSecret
from holo_operator.leader_lock import LeaderLock
from holo_operator.redis_projection import FencedError, project
from holo_turn import keys as redis_keys
from turn_processes import RedisServer, eventually

REALM = "turn.test"
OLD = (SharedSecret("a", "secret-a", 1.0),)
NEW = (SharedSecret("b", "secret-b", 2.0),)


@pytest.fixture
async def client(redis: RedisServer) -> AsyncIterator[aioredis.Redis]:
    c = aioredis.Redis.from_url(redis.url)
    yield c
    await c.aclose()


async def test_one_holder_at_a_time_and_renewal_keeps_the_token(client: aioredis.Redis) -> None:
    a = LeaderLock(client, REALM, "a", ttl_seconds=30)
    b = LeaderLock(client, REALM, "b", ttl_seconds=30)

    token = await a.acquire()
    assert token is not None and token.startswith("a:")
    assert await b.acquire() is None
    assert await a.acquire() == token

    await a.release()
    assert (await b.acquire() or "").startswith("b:")


async def test_a_paused_leader_cannot_write_after_another_took_over(
    client: aioredis.Redis,
) -> None:
    paused = LeaderLock(client, REALM, "paused", ttl_seconds=0.3)
    other = LeaderLock(client, REALM, "other", ttl_seconds=30)
    stale_token = await paused.acquire()
    assert stale_token is not None
    await project(client, REALM, stale_token, OLD)

    # The leader stops renewing (a paused process); its lock runs out and another takes it.
    await eventually(lambda: _absent(client), what="lock expiry")
    new_token = await other.acquire()
    assert new_token is not None and new_token != stale_token
    await project(client, REALM, new_token, NEW)

    # The paused process wakes with its timers due and its old token: Redis refuses it.
    with pytest.raises(FencedError):
        await project(client, REALM, stale_token, OLD)
    assert await client.smembers(redis_keys.coturn_secret_set(REALM)) == {b"secret-b"}
    assert await client.hget(redis_keys.current_secret_hash(REALM), "id") == b"b"
    # Nor can it take the lock back while the other renews.
    assert await paused.acquire() is None


async def test_each_acquisition_gets_a_larger_fencing_number(client: aioredis.Redis) -> None:
    lock = LeaderLock(client, REALM, "x", ttl_seconds=30)
    first = await lock.acquire()
    await lock.release()
    second = await lock.acquire()

    assert first is not None and second is not None
    assert int(second.split(":")[1]) > int(first.split(":")[1])


async def _absent(client: aioredis.Redis) -> bool:
    return not await client.exists(redis_keys.operator_lock(REALM))
