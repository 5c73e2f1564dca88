"""The auto-pipelined script calls (app/store/redis.py ScriptBatcher): each call of a batch gets
its own reply or its own error. On the cluster (tests/store/conftest.py) the batches go through
the cluster client's pipeline, which routes each call to its slot's node."""

from __future__ import annotations

import asyncio

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
