"""The auto-pipelined script calls (app/store/redis.py ScriptBatcher): each call of a batch gets
its own reply or its own error."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.exceptions import DataError, ResponseError

from app.store.redis import Redis, ScriptBatcher

_ECHO = """
if ARGV[1] == 'bad' then return redis.error_reply('bad argument') end
return {KEYS[1], ARGV[1], tonumber(ARGV[2])}
"""


async def test_a_failing_call_fails_alone_in_its_batch(redis: Redis) -> None:
    echo = ScriptBatcher(redis, _ECHO)
    calls = [echo(keys=[f"k{n}"], args=["bad" if n == 3 else f"a{n}", n]) for n in range(8)]
    replies = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(replies[3], ResponseError) and "bad argument" in str(replies[3])
    assert [r for n, r in enumerate(replies) if n != 3] == [
        [f"k{n}", f"a{n}", n] for n in range(8) if n != 3
    ]


async def test_an_argument_redis_cannot_take_is_refused_before_sending(redis: Redis) -> None:
    echo = ScriptBatcher(redis, _ECHO)
    with pytest.raises(DataError):
        await echo(keys=["k"], args=[None, 1])
    assert await echo(keys=["k"], args=["ok", 2]) == ["k", "ok", 2]


class _ClusterLike:
    """A client with no single connection pool, as a cluster client: the batcher falls back to
    its pipeline, which routes each call to its slot's node."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    def register_script(self, script: str) -> Any:
        return self._redis.register_script(script)

    def pipeline(self, transaction: bool) -> Any:
        return self._redis.pipeline(transaction=transaction)


async def test_a_client_without_a_connection_pool_gets_pipelines(redis: Redis) -> None:
    echo = ScriptBatcher(_ClusterLike(redis), _ECHO)
    calls = [echo(keys=[f"k{n}"], args=["bad" if n == 1 else f"a{n}", n]) for n in range(4)]
    replies = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(replies[1], ResponseError)
    assert [replies[0], *replies[2:]] == [["k0", "a0", 0], ["k2", "a2", 2], ["k3", "a3", 3]]
