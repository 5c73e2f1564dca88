"""Reply jobs: exactly one replica answers each learner message, and a dead one is replaced.

A job is an entry in one Redis stream read through one consumer group, so each entry goes to
one replica. The replica keeps its pending entries fresh (``XCLAIM ... JUSTID`` resets their
idle time) while it works; if it dies, its entries go idle and after ``claim_timeout`` another
replica takes them over with ``XAUTOCLAIM``. Finishing acknowledges and deletes the entry. That
the reply is stored once, even if two replicas did end up working on it, is the message store's
idempotent append (see ``reply.reply_client_id``).
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from redis.exceptions import ResponseError

from app.store import keys
from app.store.redis import Redis

log = logging.getLogger(__name__)


_TAKE_TURN = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'control', ARGV[4])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*',
  'room_id', ARGV[6], 'message_id', ARGV[1], 'received_at', ARGV[7])
return 1
"""


class Job(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    entry_id: str
    room_id: str
    message_id: str
    received_at: float


class ReplyJobs:
    def __init__(self, redis: Redis, *, consumer: str, claim_timeout: float) -> None:
        self._redis = redis
        self.consumer = consumer
        self._claim_ms = max(1, int(claim_timeout * 1000))
        self._stream = keys.tutor_jobs()
        self._take_turn = redis.register_script(_TAKE_TURN)

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._stream, keys.TUTOR_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def take_turn(
        self, room_id: str, message_id: str, received_at: float, control: str
    ) -> bool:
        """Make ``message_id`` the room's turn, post ``control`` (barge-in) and queue its job,
        atomically, unless it is the turn already (a send retried while the first was being
        handled): so a message is queued once. False when it was the turn already."""
        queued = await self._take_turn(
            keys=[keys.room_turn(room_id), keys.tutor_control(), self._stream],
            args=[
                message_id,
                keys.ROOM_TTL,
                keys.TUTOR_CONTROL_MAXLEN,
                control,
                keys.TUTOR_JOBS_MAXLEN,
                room_id,
                repr(received_at),
            ],
        )
        return bool(queued)

    async def read(self, count: int) -> list[Job]:
        """New jobs for this replica (not waiting: the replica's one blocking read is on the
        streams themselves, see ``service.Tutor._listen``)."""
        try:
            answer: Any = await self._redis.xreadgroup(
                keys.TUTOR_GROUP, self.consumer, {self._stream: ">"}, count=count
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.ensure_group()  # Redis lost the stream (restarted without persistence)
            return []
        return await self._parse([entry for _stream, entries in answer or [] for entry in entries])

    async def reclaim(self, count: int) -> list[Job]:
        """Jobs whose replica stopped refreshing them for ``claim_timeout``: now ours."""
        try:
            answer: Any = await self._redis.xautoclaim(
                self._stream, keys.TUTOR_GROUP, self.consumer, self._claim_ms, "0-0", count=count
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.ensure_group()
            return []
        jobs = await self._parse(answer[1])
        for job in jobs:
            log.info("took over the reply to %s in room %s", job.message_id, job.room_id)
        return jobs

    async def keep(self, entry_ids: list[Any]) -> None:
        """Reset the idle time of jobs this replica is working on."""
        if entry_ids:
            await self._redis.xclaim(
                self._stream, keys.TUTOR_GROUP, self.consumer, 0, entry_ids, justid=True
            )

    async def done(self, entry_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self._stream, keys.TUTOR_GROUP, entry_id)
            pipe.xdel(self._stream, entry_id)
            await pipe.execute()

    async def attempt(self, job: Job) -> int:
        """Counts the starts of a job (a job that keeps crashing its replica is given up)."""
        key = keys.tutor_attempts(job.message_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, keys.TUTOR_ATTEMPTS_TTL)
            count, _ = await pipe.execute()
        return int(count)

    async def _parse(self, entries: list[Any]) -> list[Job]:
        jobs = []
        for entry_id, fields in entries:
            try:
                jobs.append(Job.model_validate({"entry_id": entry_id, **(fields or {})}))
            except ValidationError:
                log.warning("dropping malformed reply job %s", entry_id)
                await self.done(entry_id)
        return jobs
