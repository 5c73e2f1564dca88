"""The subscriptions of a replica on a Redis Cluster (app/realtime/cluster_subscriber.py), in
process on real clusters: a room channel whose slot is moved to another node (a resharding, a
manual failover) is followed there as soon as the node that gave it away unsubscribes it, not at
the next periodic check of the slot map."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator

import pytest
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import key_slot

from app.config import Settings
from app.realtime import cluster_subscriber
from app.realtime.cluster_subscriber import ClusterSubscription
from app.store.redis import create_pubsub_redis
from tests.realtime.test_subscriber import Inbox
from tests.servers import RedisClusterServers


@pytest.fixture(scope="module")
def cluster_with_replicas() -> Iterator[RedisClusterServers]:
    """Three primaries with a replica each, for failovers."""
    servers = RedisClusterServers(replicas=1).start()
    yield servers
    servers.cleanup()


async def test_a_resharded_room_channel_is_followed_as_soon_as_its_node_lets_it_go(
    redis_cluster: RedisClusterServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    def reshard(slot: int) -> None:
        source = redis_cluster.owner(slot)
        redis_cluster.move_slot(slot, next(n for n in redis_cluster.nodes if n is not source))

    await followed_after(redis_cluster, reshard, monkeypatch)


async def test_a_room_channel_is_followed_to_the_replica_a_failover_promotes(
    cluster_with_replicas: RedisClusterServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    await followed_after(cluster_with_replicas, cluster_with_replicas.fail_over, monkeypatch)


async def followed_after(
    cluster: RedisClusterServers, move: Callable[[int], object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Subscribes to a room channel, ``move``s its slot, and says a message every 50 ms until
    one arrives: within seconds, where the periodic check is ten minutes away."""
    monkeypatch.setattr(cluster_subscriber, "RECHECK_SECONDS", 600.0)
    inbox = Inbox()
    client = create_pubsub_redis(Settings(redis_url=cluster.url))
    subscription = ClusterSubscription(
        client, f"test:shared:{uuid.uuid4()}", inbox, confirm_timeout=5
    )
    running = asyncio.create_task(subscription.run())
    publisher = AsyncRedisCluster(
        host="127.0.0.1", port=cluster.nodes[0].port, decode_responses=True
    )
    channel = f"test:room:{{{uuid.uuid4()}}}:events"
    try:
        await subscription.subscribe(channel)
        await publisher.spublish(channel, "before")
        await inbox.wait_for(1)

        move(key_slot(channel.encode()))

        # A message published before the subscription followed is said to nobody.
        async with asyncio.timeout(20):
            n = 0
            while not any(m.startswith("after") for m in inbox.messages):
                await publisher.spublish(channel, f"after {n}")
                n += 1
                await asyncio.sleep(0.05)
        await publisher.spublish(channel, "last")
        while "last" not in inbox.messages:
            await inbox.wait_for(len(inbox.messages) + 1)
        assert inbox.messages[-1] == "last"
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await publisher.aclose()
        await client.aclose()
