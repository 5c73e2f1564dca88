"""The clients and repositories one process shares, built once in the lifespan.

Handlers get them from ``request.state.services`` (REST) or from the realtime layer that was
given them at start; nothing is a module-level singleton.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
import socketio

from app.catalogue import Catalogue
from app.config import Settings
from app.observability.metrics import Metrics
from app.security.tokens import TokenService
from app.store.learners import LearnerData
from app.store.messages import MessageStore
from app.store.profiles import ProfileStore
from app.store.ratelimit import RateLimiter
from app.store.redis import Redis
from app.store.replicas import ReplicaRegistry
from app.store.rooms import RoomStore
from app.store.sessions import SessionStore
from app.store.summaries import SummaryStore
from app.tutor.memory import Memory
from app.tutor.service import Tutor
from app.tutor.summaries import SummaryJobs


@dataclass
class Lifecycle:
    """Whether this replica is draining (SIGTERM received): readiness says 503 from then on."""

    draining: bool = False


@dataclass
class Services:
    settings: Settings
    metrics: Metrics
    redis: Redis
    http: httpx.AsyncClient
    sio: socketio.AsyncServer
    tokens: TokenService
    catalogue: Catalogue
    rooms: RoomStore
    messages: MessageStore
    sessions: SessionStore
    replicas: ReplicaRegistry
    limiter: RateLimiter
    profiles: ProfileStore
    learners: LearnerData
    summaries: SummaryStore
    summary_jobs: SummaryJobs
    memory: Memory
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    # Set by the lifespan once providers and storage are open.
    tutor: Tutor | None = None
