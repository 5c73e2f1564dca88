"""Building the tutor for the app's lifespan: providers, storage and the worker, once a process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx

from app.catalogue import Catalogue
from app.config import Settings
from app.observability.metrics import Metrics
from app.providers.llm import LLMTimeouts
from app.providers.llm.factory import build_llm
from app.providers.retry import RetryPolicy
from app.providers.storage import Storage
from app.providers.storage.local import LocalStorage
from app.providers.tts.factory import build_tts
from app.server_events import Emitter
from app.store.messages import MessageStore
from app.store.redis import Redis, blocking_read_seconds
from app.store.rooms import RoomStore
from app.store.sessions import SessionStore
from app.store.summaries import SummaryStore
from app.tutor.jobs import ReplyJobs
from app.tutor.observer import MetricsObserver
from app.tutor.reply import ReplyConfig, ReplyDeps
from app.tutor.service import STOP_TIMEOUT_SECONDS, Tutor
from app.tutor.summaries import Summarizer, SummaryJobs
from app.tutor.usage import Budget, UsageStore


def local_media(settings: Settings) -> LocalStorage | None:
    """The local media directory when no bucket is set (its route is mounted by the app)."""
    if settings.s3_bucket:
        return None
    return LocalStorage(
        settings.media_dir,
        secret=settings.media_signing_key,
        url_ttl_seconds=settings.media_url_ttl_seconds,
    )


@contextlib.asynccontextmanager
async def open_tutor(
    settings: Settings,
    *,
    redis: Redis,
    http: httpx.AsyncClient,
    emitter: Emitter,
    metrics: Metrics,
    catalogue: Catalogue,
    rooms: RoomStore,
    messages: MessageStore,
    consumer: str,
    storage: Storage,
    sessions: SessionStore | None = None,
    summaries: SummaryStore | None = None,
) -> AsyncIterator[Tutor]:
    """The tutor's worker, and (given ``sessions`` and ``summaries``) the summary worker."""
    observer = MetricsObserver(metrics)
    llm = build_llm(
        http,
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        timeouts=LLMTimeouts(
            connect=settings.provider_connect_timeout_seconds,
            first_token=settings.llm_first_token_timeout_seconds,
            between_chunks=settings.llm_chunk_timeout_seconds,
        ),
        retry=RetryPolicy(attempts=settings.llm_max_attempts),
        observer=observer,
    )
    tts = build_tts(settings, http, observer=observer)
    deps = ReplyDeps(
        config=ReplyConfig.from_settings(settings),
        emitter=emitter,
        rooms=rooms,
        messages=messages,
        usage=UsageStore(redis, metrics),
        budget=Budget(
            llm_tokens=settings.llm_token_budget,
            tts_characters=settings.tts_char_budget,
            tts_threshold=settings.tts_budget_threshold,
        ),
        metrics=metrics,
        llm=llm,
        tts=tts,
        storage=storage,
        summaries=summaries,
    )
    tutor = Tutor(
        deps,
        jobs=ReplyJobs(
            redis,
            consumer=consumer,
            claim_timeout=settings.tutor_claim_timeout_seconds,
            block_seconds=blocking_read_seconds(settings),
        ),
        rooms=rooms,
        catalogue=catalogue,
        max_replies=settings.tutor_max_replies,
        claim_timeout=settings.tutor_claim_timeout_seconds,
    )
    workers = [asyncio.create_task(tutor.run(), name="tutor")]
    if sessions is not None and summaries is not None:
        summarizer = Summarizer(
            deps,
            jobs=SummaryJobs(
                redis, consumer=consumer, block_seconds=blocking_read_seconds(settings)
            ),
            sessions=sessions,
            summaries=summaries,
            max_tokens=settings.summary_max_tokens,
            context_tokens=settings.llm_context_tokens,
        )
        workers.append(asyncio.create_task(summarizer.run(), name="summaries"))
    try:
        yield tutor
    finally:
        await tutor.finish(grace=min(10.0, settings.shutdown_grace_seconds / 2))
        for worker in workers:
            worker.cancel()
        await asyncio.wait(workers, timeout=STOP_TIMEOUT_SECONDS + 1)
