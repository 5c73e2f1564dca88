"""The tutor of one replica: takes reply jobs, runs replies, and stops them on barge-in.

Barge-in works across replicas: the learner may be on replica B while A runs the reply. A stop
(or a new learner message) first moves the room's *turn* (the learner message the tutor should
answer now), then posts a control entry every replica reads. A reply registers itself before it
checks the turn, so either it sees the new turn or the control entry finds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from app.catalogue import Catalogue
from app.models import Message
from app.server_events import AiError, ServerEvents
from app.store.redis import UNAVAILABLE_ERRORS
from app.store.rooms import RoomStore
from app.tutor.jobs import Control, Job, ReplyJobs
from app.tutor.loops import forever
from app.tutor.prompt import conversation_for
from app.tutor.reply import Reply, ReplyDeps, reply_client_id

log = logging.getLogger(__name__)

# A job that was started this many times without finishing (its replica died each time) is
# answered with an error instead of being tried again.
MAX_ATTEMPTS = 3
CONVERSATION_WINDOW = 200
STOP_TIMEOUT_SECONDS = 2.0
# ``_consume`` reads the job stream when ``_listen`` says a job was queued (or restarted), and
# also after this long without a word: a safety net that costs an idle replica almost nothing.
CONSUME_SAFETY_NET_SECONDS = 60.0


@dataclass
class _Running:
    job: Job
    reply: Reply | None = None
    stopped: bool = False  # a stop arrived before the reply started


class Tutor:
    def __init__(
        self,
        deps: ReplyDeps,
        *,
        jobs: ReplyJobs,
        rooms: RoomStore,
        catalogue: Catalogue,
        max_replies: int,
        claim_timeout: float,
    ) -> None:
        self.deps = deps
        self._jobs = jobs
        self._rooms = rooms
        self._catalogue = catalogue
        self._max = max_replies
        self._claim_timeout = claim_timeout
        self._running: dict[str, _Running] = {}  # by stream entry id
        self._tasks: set[asyncio.Task[None]] = set()
        self._freed = asyncio.Event()
        self._queued = asyncio.Event()
        self._intake: list[asyncio.Task[None]] = []
        # Told of every control applied here (the voice sessions stop playing the reply).
        self.on_control: list[Callable[[Control], None]] = []

    # -- called by the realtime layer -------------------------------------------------------

    async def on_learner_message(
        self, room_id: str, message: Message, *, retried: bool = False
    ) -> None:
        """A learner message: it is now the turn to answer, anything in flight stops. A retried
        send (same client_id) is queued only if its first attempt did not get that far."""
        if retried and not await self._unanswered_and_latest(room_id, message):
            return
        control = Control(room_id=room_id, keep=message.id)
        if await self._jobs.take_turn(message.id, message.ts, control):
            self._apply(control)  # this replica at once; the others through the stream

    async def _unanswered_and_latest(self, room_id: str, message: Message) -> bool:
        if await self.deps.messages.has_client_id(room_id, None, reply_client_id(message.id)):
            return False
        later = await self.deps.messages.list(room_id, after=message.seq, limit=50)
        return not any(m.sender.kind == "user" for m in later)

    async def stop(
        self,
        room_id: str,
        reply_id: str | None = None,
        *,
        played: str | None = None,
        played_clips: int | None = None,
    ) -> None:
        control = Control(
            room_id=room_id, reply_id=reply_id, played=played, played_clips=played_clips
        )
        self._apply(control)
        await self._jobs.stop(control)

    def _apply(self, control: Control) -> None:
        for listener in self.on_control:
            listener(control)
        for running in self._running.values():
            if running.job.room_id != control.room_id or control.keep == running.job.message_id:
                continue
            reply = running.reply
            if reply is None:
                # Not started yet: it will not start. (A reply id names a reply that started.)
                running.stopped = running.stopped or control.reply_id is None
            elif control.reply_id in (None, reply.reply_id):
                if control.played is not None:
                    reply.heard = (control.played, control.played_clips)
                reply.stop_requested.set()

    # -- the worker -------------------------------------------------------------------------

    async def run(self) -> None:
        """Take and run reply jobs until cancelled (see ``finish`` for a graceful stop)."""
        self._intake = [
            asyncio.create_task(forever(self._consume, "tutor consume")),
            asyncio.create_task(forever(self._reclaim, "tutor reclaim")),
        ]
        loops = [
            *self._intake,
            asyncio.create_task(forever(self._keep_alive, "tutor keep-alive")),
            asyncio.create_task(forever(self._listen, "tutor control")),
        ]
        try:
            await asyncio.wait(loops)  # the loops run until cancelled
        finally:
            tasks = [*loops, *self._tasks]
            for task in tasks:
                task.cancel()
            # Bounded: a blocking read in a Redis client can swallow the cancellation (the
            # embedded store's XREAD BLOCK does), and shutdown must not wait for it forever.
            _, stuck = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_SECONDS)
            if stuck:
                log.warning("%d tutor tasks did not stop when cancelled", len(stuck))

    async def finish(self, grace: float) -> None:
        """Shutting down: take no more jobs, and give the replies in flight up to ``grace``
        seconds to end (still refreshed, still stoppable); another replica takes over the rest."""
        for task in self._intake:
            task.cancel()
        if self._tasks:
            log.info("finishing %d replies before stopping", len(self._tasks))
            await asyncio.wait(self._tasks, timeout=grace)

    async def _consume(self) -> None:
        await self._jobs.ensure_group()
        while True:
            while len(self._running) >= self._max:
                self._freed.clear()
                await self._freed.wait()
            free = self._max - len(self._running)
            jobs = await self._jobs.read(free)
            for job in jobs:
                self._start(job)
            if len(jobs) == free:
                continue  # as many as it could take: there may be more waiting
            # Woken by ``_listen`` when a job is queued.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queued.wait(), CONSUME_SAFETY_NET_SECONDS)
            self._queued.clear()

    async def _reclaim(self) -> None:
        while True:
            await asyncio.sleep(self._claim_timeout / 2)
            free = self._max - len(self._running)
            if free > 0:
                for job in await self._jobs.reclaim(free):
                    self._start(job)
            await self._jobs.prune_consumers()

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self._claim_timeout / 3)
            await self._jobs.keep(list(self._running))

    async def _listen(self) -> None:
        """Control entries are applied at once; a new job wakes ``_consume`` to claim it."""
        await self._jobs.listen(self._apply, self._queued.set)

    def _start(self, job: Job) -> None:
        if job.entry_id in self._running:
            return  # our own job, reclaimed because a keep-alive came late
        self._running[job.entry_id] = _Running(job)
        task = asyncio.create_task(self._handle(job), name=f"job-{job.message_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, job: Job) -> None:
        try:
            if await self._answer(job):
                await self._jobs.done(job.entry_id)
        except UNAVAILABLE_ERRORS as exc:
            # Not acknowledged: after claim_timeout a replica tries again (MAX_ATTEMPTS in all).
            log.warning("reply to %s failed, the store is unavailable: %r", job.message_id, exc)
            self.deps.metrics.errors.labels("tutor", "store_unavailable").inc()
        except Exception:
            log.exception("reply to %s failed", job.message_id)
            self.deps.metrics.errors.labels("tutor", "internal").inc()
        finally:
            self._running.pop(job.entry_id, None)
            self._freed.set()

    async def _answer(self, job: Job) -> bool:
        """Runs the reply; True when the job is finished (answered, or nothing to answer)."""
        running = self._running[job.entry_id]  # registered before the turn is read
        if not await self._jobs.is_turn(job.room_id, job.message_id):
            return True  # stopped, or the learner has said something newer
        if await self._jobs.attempt(job) > MAX_ATTEMPTS:
            await ServerEvents(self.deps.emitter).send(
                AiError(code="reply_failed", message="The tutor could not answer that message."),
                room=job.room_id,
            )
            return True
        room = await self._rooms.get(job.room_id)
        companion = self._catalogue.get(room.companion_id) if room else None
        if room is None or room.status != "active" or companion is None:
            return True
        if await self.deps.messages.has_client_id(
            job.room_id, None, reply_client_id(job.message_id)
        ):
            return True  # answered already (by a replica that died before acknowledging)
        reply = running.reply = Reply(
            self.deps,
            room_id=job.room_id,
            message_id=job.message_id,
            companion=companion,
            received_at=job.received_at,
        )
        if running.stopped:
            reply.stop_requested.set()
        recent = await self.deps.messages.recent(job.room_id, limit=CONVERSATION_WINDOW)
        conversation = conversation_for(recent, job.message_id)
        if conversation is not None and not running.stopped:
            await reply.run(conversation)
        return True
