"""The subscriptions of a replica on a Redis Cluster (app/realtime/cluster_subscriber.py), in
process on the session's real cluster: a room channel whose slot is moved to another node is
followed there as soon as the node that gave it away unsubscribes it, not at the next periodic
check of the slot map."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import key_slot

from app.config import Settings
from app.realtime import cluster_subscriber
from app.realtime.cluster_subscriber import ClusterSubscription
from app.store.redis import create_pubsub_redis
from tests.realtime.test_subscriber import Inbox
from tests.servers import RedisClusterServers


async def test_a_moved_room_channel_is_followed_as_soon_as_its_node_lets_it_go(
    redis_cluster: RedisClusterServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The periodic check out of the picture: only the push can make the move noticed in time.
    monkeypatch.setattr(cluster_subscriber, "RECHECK_SECONDS", 600.0)
    inbox = Inbox()
    client = create_pubsub_redis(Settings(redis_url=redis_cluster.url))
    subscription = ClusterSubscription(
        client,
        f"test:shared:{uuid.uuid4()}",
        inbox,
        confirm_timeout=5,
    )
    running = asyncio.create_task(subscription.run())
    port = redis_cluster.nodes[0].port
    publisher = AsyncRedisCluster(host="127.0.0.1", port=port, decode_responses=True)
    channel = f"test:room:{{{uuid.uuid4()}}}:events"
    try:
        await subscription.subscribe(channel)
        await publisher.spublish(channel, "before")
        await inbox.wait_for(1)

        slot = key_slot(channel.encode())
        source = redis_cluster.owner(slot)
        redis_cluster.move_slot(slot, next(n for n in redis_cluster.nodes if n is not source))

        # A message published before the subscription moved is not delivered (it was said to
        # nobody); say one every 50 ms until one arrives, within seconds, not ten minutes.
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
