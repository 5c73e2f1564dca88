"""The ASGI application: Starlette for REST, wrapped by Socket.IO, clients wired in the lifespan.

``uvicorn app.main:app`` serves it; ``create_app(settings)`` builds one for tests or embedding.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import httpx
import socketio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from app import __version__
from app.api import auth, companions, health, ice, me, rooms, sessions
from app.api.errors import EXCEPTION_HANDLERS
from app.api.media import media_route
from app.api.middleware import RateLimitMiddleware, RequestContextMiddleware
from app.api.openapi import openapi_routes
from app.api.security_headers import SecurityHeadersMiddleware
from app.catalogue import Catalogue
from app.config import Settings, load_settings
from app.frontend import frontend_routes
from app.observability.logging import configure_logging
from app.observability.metrics import Metrics
from app.providers.storage.factory import open_storage
from app.providers.storage.links import AudioLinks
from app.providers.storage.local import LocalStorage
from app.providers.storage.retention import DAY, apply_bucket_rule, sweep_local_media
from app.realtime.events import RealtimeEvents
from app.realtime.manager import RedisPubSubManager
from app.realtime.presence import Presence
from app.realtime.server import GuardedServer, create_sio
from app.security.tokens import TokenService
from app.services import Lifecycle, Services
from app.store.connections import ConnectionSlots
from app.store.health import StoreHealth
from app.store.learners import LearnerData
from app.store.messages import MessageStore
from app.store.profiles import ProfileStore
from app.store.ratelimit import RateLimiter
from app.store.redis import pubsub_redis_client, redis_client
from app.store.replicas import ReplicaRegistry
from app.store.rooms import RoomStore
from app.store.sessions import SessionStore
from app.store.summaries import SummaryStore
from app.store.turn import TurnSecrets
from app.tutor.memory import Memory
from app.tutor.setup import local_media, open_tutor
from app.tutor.summaries import SummaryJobs
from app.voice.setup import open_voice

log = logging.getLogger(__name__)


class HoloApp(socketio.ASGIApp):  # type: ignore[misc]
    """The ASGI callable, carrying what the process runner needs for a graceful shutdown."""

    def __init__(self, sio: GuardedServer, api: Starlette, lifecycle: Lifecycle) -> None:
        super().__init__(sio, other_asgi_app=api, socketio_path="/socket.io")
        self.sio = sio
        self.api = api
        self.lifecycle = lifecycle
        self.realtime: RealtimeEvents | None = None
        self.settings: Settings = api.state.settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            if scope["type"] == "websocket" and self._ensure_trailing_slash(
                scope["path"]
            ).startswith(self.engineio_path):
                # Straight to Engine.IO (what the wrappers above do for this path, less two
                # coroutine frames that would live as long as the connection).
                await self.sio.eio.handle_request(scope, receive, send)
            else:
                await super().__call__(scope, receive, send)
        except Exception as exc:
            # python-engineio lets a packet it cannot parse escape the WebSocket handler;
            # uvicorn would log a traceback for each. The connection is over either way.
            if scope["type"] != "websocket":
                raise
            client = scope.get("client")
            self.sio.note_refusal(
                f"malformed transport packet ({type(exc).__name__})",
                str(client[0]) if client else None,
            )

    async def drain(self) -> None:
        """SIGTERM: stop being ready, give the load balancer time to notice, then send this
        replica's clients elsewhere."""
        self.lifecycle.draining = True
        log.info("draining: readiness is now 503")
        await asyncio.sleep(self.settings.drain_seconds)
        if self.realtime is not None:
            await self.realtime.disconnect_all_for_restart()


def _replica_id(settings: Settings) -> str:
    """This process's identity in Redis: the configured name (the pod's) plus a suffix of its
    own. A container restarted in place keeps its pod name; were the id the same, the new
    process would heartbeat for the old one and the old one's sockets would never be reaped."""
    base = settings.replica_id or socket.gethostname()
    return f"{base}-{os.getpid()}-{secrets.token_hex(3)}"


async def _quietly(close: Callable[[], Awaitable[object]]) -> None:
    # Best effort on the way out: Redis may be gone already, and the rest must still close.
    with contextlib.suppress(Exception):
        await close()


@contextlib.asynccontextmanager
async def _background(coro: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    task = asyncio.create_task(coro, name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _routes(settings: Settings, media: LocalStorage | None) -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        *health.routes,
        *auth.routes,
        *companions.routes,
        *rooms.routes,
        *sessions.routes,
        *me.routes,
        *ice.routes,
    ]
    routes += openapi_routes(list(routes), __version__)
    if media is not None:
        routes.append(media_route(media))
    return routes + frontend_routes(settings)


def _middleware(settings: Settings, metrics: Metrics) -> list[Middleware]:
    # CORS outermost: every answer to an allowed origin carries its headers, a 429 from the
    # rate limiter and a 500 from the request context included (the web app reads Retry-After
    # and X-Request-ID from them).
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
        ),
        Middleware(SecurityHeadersMiddleware, settings=settings),
        Middleware(RequestContextMiddleware, metrics=metrics),
        Middleware(RateLimitMiddleware),
    ]


def create_app(settings: Settings | None = None) -> HoloApp:
    settings = settings or load_settings()
    replica_id = _replica_id(settings)
    configure_logging(settings.log_level, replica_id)
    metrics = Metrics()
    catalogue = Catalogue.load()
    sio = create_sio(settings, metrics)
    lifecycle = Lifecycle()
    media = local_media(settings)
    holder: dict[str, HoloApp] = {}

    @contextlib.asynccontextmanager
    async def lifespan(api: Starlette) -> AsyncIterator[dict[str, Any]]:
        # Everything opened here is closed in reverse order by the stack, whatever fails.
        async with contextlib.AsyncExitStack() as stack:
            name = f"holo:{replica_id}"
            redis = await stack.enter_async_context(redis_client(settings, name))
            if isinstance(sio.manager, RedisPubSubManager):
                pubsub = await stack.enter_async_context(pubsub_redis_client(settings, name))
                sio.manager.bind(redis, pubsub, settings.redis_socket_timeout)
                # python-socketio starts the listener at the first connection; start it now so
                # readiness can wait for the subscription and REST-triggered emits reach peers.
                sio.manager_initialized = True
                sio.manager.initialize()
            # The heartbeat has a connection of its own, so that a burst queueing on the
            # command pool cannot make a live replica look dead.
            presence_redis = (
                await stack.enter_async_context(
                    redis_client(settings, f"{name}:presence", max_connections=1)
                )
                if settings.redis_url
                else redis
            )
            http = await stack.enter_async_context(
                httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
            )
            stack.push_async_callback(_quietly, sio.shutdown)
            messages = MessageStore(redis)
            profiles = ProfileStore(redis)
            summaries = SummaryStore(redis)
            services = Services(
                settings=settings,
                metrics=metrics,
                store=StoreHealth(redis),
                http=http,
                sio=sio,
                tokens=TokenService(settings, http),
                catalogue=catalogue,
                rooms=RoomStore(redis),
                turn_secrets=TurnSecrets(redis),
                messages=messages,
                sessions=SessionStore(redis),
                replicas=ReplicaRegistry(
                    presence_redis, replica_id, settings.heartbeat_ttl_seconds
                ),
                limiter=RateLimiter(redis, limit=settings.rate_limit_per_minute),
                profiles=profiles,
                learners=LearnerData(redis),
                summaries=summaries,
                summary_jobs=SummaryJobs(redis, consumer=replica_id),
                memory=Memory(
                    profiles=profiles,
                    summaries=summaries,
                    messages=messages,
                    metrics=metrics,
                    sessions=settings.memory_sessions,
                    budget_tokens=settings.memory_context_tokens,
                ),
                connections=ConnectionSlots(
                    redis,
                    replica_id,
                    per_user=settings.socket_connections_per_user,
                    per_ip=settings.socket_connections_per_ip,
                ),
                lifecycle=lifecycle,
            )
            stack.push_async_callback(_quietly, services.replicas.resign)
            realtime = holder["app"].realtime = RealtimeEvents(sio, services)
            presence = Presence(
                services,
                on_reaped=functools.partial(
                    realtime.reconnect_clients,
                    "connection_reset",
                    "The connection to the server was interrupted; reconnecting.",
                ),
                remove_member=realtime.remove_member,
            )
            await stack.enter_async_context(_background(presence.run(), "presence"))
            log.info(
                "replica %s started (store: %s)",
                replica_id,
                "redis" if settings.redis_url else "embedded",
            )
            storage = await stack.enter_async_context(
                open_storage(
                    s3_bucket=settings.s3_bucket,
                    s3_region=settings.s3_region,
                    s3_endpoint_url=settings.s3_endpoint_url,
                    s3_prefix=settings.s3_prefix,
                    url_ttl_seconds=settings.media_url_ttl_seconds,
                    local=media,
                )
            )
            days = settings.media_retention_days
            services.audio = AudioLinks(storage, retention_seconds=days * DAY or None)
            if settings.s3_apply_lifecycle:
                try:
                    async with asyncio.timeout(settings.storage_timeout_seconds):
                        await apply_bucket_rule(storage, days=days)
                except TimeoutError:
                    log.warning("audio retention rule: the bucket did not answer in time")
            await stack.enter_async_context(
                _background(sweep_local_media(storage, days=days), "media-sweep")
            )
            services.tutor = await stack.enter_async_context(
                open_tutor(
                    settings,
                    redis=redis,
                    http=http,
                    emitter=sio,
                    metrics=metrics,
                    catalogue=catalogue,
                    rooms=services.rooms,
                    messages=services.messages,
                    consumer=replica_id,
                    storage=storage,
                    sessions=services.sessions,
                    summaries=summaries,
                )
            )
            services.voice = await stack.enter_async_context(
                open_voice(services, services.tutor, media)
            )
            yield {"services": services}

    api = Starlette(
        routes=_routes(settings, media),
        middleware=_middleware(settings, metrics),
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    api.state.settings = settings
    api.state.metrics = metrics
    app = HoloApp(sio, api, lifecycle)
    holder["app"] = app
    return app


def __getattr__(name: str) -> Any:
    # `uvicorn app.main:app` builds the app on first access, so importing this module (tests,
    # tools) never reads the environment by itself.
    if name == "app":
        built = create_app()
        globals()["app"] = built
        return built
    raise AttributeError(name)
