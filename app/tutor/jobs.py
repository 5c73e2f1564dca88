"""Reply jobs: exactly one replica answers each learner message, and a dead one is replaced.

The room's *turn* (the learner message the tutor should answer now) and the control stream
(barge-in, read by every replica) are kept here too: a job is queued and a stop is posted by
the one script that moves the turn.

A job is an entry in one Redis stream read through one consumer group, so each entry goes to
one replica. The replica keeps its pending entries fresh (``XCLAIM ... JUSTID`` resets their
idle time) while it works; if it dies, its entries go idle and after ``claim_timeout`` another
replica takes them over with ``XAUTOCLAIM``. Finishing acknowledges and deletes the entry. That
the reply is stored once, even if two replicas did end up working on it, is the message store's
idempotent append (see ``reply.reply_client_id``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from redis.exceptions import ResponseError

from app.store import keys
from app.store.consumers import StaleConsumers
from app.store.redis import Redis, raise_if_cancelled

log = logging.getLogger(__name__)


# Moves a room's turn and posts the control entry that stops what no longer has it; with a
# message id (a learner message) it also queues the job, unless that message is the turn
# already (its send was retried). ARGV[2] is '0' for a stop that leaves the turn alone (one
# reply by id), and a message id of '' clears the turn (stop everything, queued or not).
_MOVE_TURN = """
local turn = ARGV[1]
if turn ~= '' and redis.call('GET', KEYS[1]) == turn then return 0 end
if ARGV[2] == '1' then redis.call('SET', KEYS[1], turn, 'EX', ARGV[3]) end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'control', ARGV[5])
if turn ~= '' then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], '*',
    'room_id', ARGV[7], 'message_id', turn, 'received_at', ARGV[8])
end
return 1
"""


class Control(BaseModel):
    """A barge-in request: stop the room's replies (or one reply), except one to ``keep``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    room_id: str
    reply_id: str | None = None
    keep: str | None = None
    # Barge-in by voice: what the listener heard of the reply (its text, clips started), which
    # is what the stored reply keeps.
    played: str | None = None
    played_clips: int | None = None


class Job(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    entry_id: str
    room_id: str
    message_id: str
    received_at: float


class ReplyJobs:
    def __init__(
        self, redis: Redis, *, consumer: str, claim_timeout: float, block_seconds: float = 1.0
    ) -> None:
        self._redis = redis
        self.consumer = consumer
        self._claim_ms = max(1, int(claim_timeout * 1000))
        self._block_ms = max(1, int(block_seconds * 1000))
        self._stream = keys.tutor_jobs()
        self._move_turn = redis.register_script(_MOVE_TURN)
        self._stale = StaleConsumers(redis, self._stream, keys.TUTOR_GROUP, keep=consumer)

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._stream, keys.TUTOR_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def take_turn(self, message_id: str, received_at: float, control: Control) -> bool:
        """Make ``message_id`` the room's turn, post ``control`` (barge-in) and queue its job,
        atomically, unless it is the turn already (a send retried while the first was being
        handled): so a message is queued once. False when it was the turn already."""
        return await self._move(control, turn=message_id, received_at=received_at)

    async def stop(self, control: Control) -> None:
        """Post a stop; a stop of the whole room (no reply id) also clears the turn, so that a
        reply queued and not started yet does not start."""
        await self._move(control, turn="", set_turn=control.reply_id is None)

    async def is_turn(self, room_id: str, message_id: str) -> bool:
        """Whether ``message_id`` is still what the room's tutor should answer."""
        return bool(await self._redis.get(keys.room_turn(room_id)) == message_id)

    async def listen(
        self, on_control: Callable[[Control], None], on_queued: Callable[[], None]
    ) -> None:
        """The one blocking read a replica keeps open, until cancelled: each control entry is
        handed to ``on_control``; a new job calls ``on_queued`` (the job itself is claimed
        through the group by ``read``).

        ``on_queued`` is also called once as it starts, for what was queued before it (or
        while a failed read was being restarted): it reads the job stream from its newest
        entry at the time, so a job queued after that call is one it sees."""
        control_stream = keys.tutor_control()
        newest: Any = await self._redis.xrevrange(self._stream, count=1)
        last = {control_stream: "$", self._stream: newest[0][0] if newest else "0-0"}
        on_queued()
        while True:
            answer: Any = await self._redis.xread(dict(last), block=self._block_ms)
            raise_if_cancelled()
            for stream, entries in answer or []:
                last[stream] = entries[-1][0]
                if stream != control_stream:
                    on_queued()
                    continue
                for entry_id, fields in entries:
                    try:
                        control = Control.model_validate_json(fields.get("control", ""))
                    except ValidationError:
                        log.warning("ignoring malformed tutor control entry %s", entry_id)
                        continue
                    on_control(control)

    async def _move(
        self, control: Control, *, turn: str, set_turn: bool = True, received_at: float = 0.0
    ) -> bool:
        moved = await self._move_turn(
            keys=[keys.room_turn(control.room_id), keys.tutor_control(), self._stream],
            args=[
                turn,
                "1" if set_turn else "0",
                keys.ROOM_TTL,
                keys.TUTOR_CONTROL_MAXLEN,
                control.model_dump_json(),
                keys.TUTOR_JOBS_MAXLEN,
                control.room_id,
                repr(received_at),
            ],
        )
        return bool(moved)

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

    async def prune_consumers(self) -> int:
        """Remove the group's consumers of replicas gone for good, when due
        (``app.store.consumers``)."""
        return await self._stale.prune_when_due()

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
