"""Rotation with a real coturn 4.6 reading its secrets from a real Redis.

The operator code path is the real one (reconcile against the API stand-in); only its clock is
injected, so the rotation interval and grace pass without waiting. coturn checks each credential's
expiry against the real clock, so credentials are minted with real time.
"""

import asyncio
import time
from pathlib import Path

from holo_operator.manifests import Owner
from holo_operator.reconcile import reconcile
from holo_operator.runtime import Runtime
from holo_operator.turnserver_conf import denied_peer_ranges
from holo_turn.credentials import mint_turn_credentials
from kube_api_standin import KubeApiStandin
from turn_fixtures import NAMESPACE, coturn_inputs, put_redis_secret, turnserver
from turn_processes import Coturn, RedisServer, allocate, allocate_with_secret, coturn

TTL, SKEW, INTERVAL = 30, 5, 100


def mint(secret: str, user: str) -> tuple[str, str]:
    return mint_turn_credentials(secret, user, ttl=600, now=time.time())


async def accepted(server: Coturn, *credentials: tuple[str, str]) -> list[bool]:
    return list(await asyncio.gather(*(allocate(server, u, p) for u, p in credentials)))


async def test_old_credentials_work_during_the_overlap_and_are_refused_after(
    standin: KubeApiStandin, runtime: Runtime, redis: RedisServer, tmp_path: Path
) -> None:
    await put_redis_secret(standin, redis.url)
    obj = await standin.put_object(
        turnserver(
            rotation={
                "intervalSeconds": INTERVAL,
                "credentialTTLSeconds": TTL,
                "clockSkewSeconds": SKEW,
            }
        )
    )
    owner = Owner("turn", NAMESPACE, obj["metadata"]["uid"])
    t0 = 1000.0
    first = (await reconcile(runtime, owner, obj["spec"], now=t0)).current
    assert first is not None

    # coturn runs with the config and the Redis connection the operator wrote to the cluster.
    with coturn(*coturn_inputs(standin), tmp_path) as server:
        old_cred = mint(first.secret, "learner-1")
        assert await accepted(server, old_cred) == [True]
        assert await accepted(server, ("1:nobody", "wrong")) == [False]

        rotated = await reconcile(runtime, owner, obj["spec"], now=t0 + INTERVAL)
        new = rotated.current
        assert rotated.rotated and new is not None
        new_cred = mint(new.secret, "learner-2")
        # Overlap: the old secret's credential still works, and so does the new one.
        assert await accepted(server, old_cred, new_cred) == [True, True]
        assert await allocate_with_secret(server, new.secret)

        await reconcile(runtime, owner, obj["spec"], now=t0 + INTERVAL + TTL + SKEW)
        # After the grace: the old secret is gone from coturn, the new one still works.
        assert await accepted(server, old_cred, new_cred, mint(first.secret, "late")) == [
            False,
            True,
            False,
        ]

        log = server.log_text()
    assert "Redis DB sync connection success" in log
    for denied in denied_peer_ranges():  # coturn parsed every range of the operator's config
        assert f"Black listing: {denied}" in log
    assert "401" in log  # the refusals were coturn's own
