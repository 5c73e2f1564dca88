"""The clients and repositories one process shares, built once in the lifespan.

Handlers get them from ``request.state.services`` (REST) or from the realtime layer that was
given them at start; nothing is a module-level singleton.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx
import socketio

from app.catalogue import Catalogue
from app.config import Settings
from app.models import Message
from app.observability.metrics import Metrics
from app.providers.storage.links import AudioLinks
from app.security.tokens import TokenService
from app.store.connections import ConnectionSlots
from app.store.health import StoreHealth
from app.store.learners import LearnerData
from app.store.messages import MessageStore
from app.store.profiles import ProfileStore
from app.store.ratelimit import RateLimiter
from app.store.replicas import ReplicaRegistry
from app.store.rooms import RoomStore
from app.store.sessions import SessionStore
from app.store.summaries import SummaryStore
from app.store.turn import TurnSecrets
from app.tutor.memory import Memory
from app.tutor.service import Tutor
from app.tutor.summaries import SummaryJobs
from app.voice.hub import VoiceHub


@dataclass
class Lifecycle:
    """Whether this replica is draining (SIGTERM received): readiness says 503 from then on."""

    draining: bool = False


@dataclass
class Services:
    settings: Settings
    metrics: Metrics
    store: StoreHealth
    http: httpx.AsyncClient
    sio: socketio.AsyncServer
    tokens: TokenService
    catalogue: Catalogue
    rooms: RoomStore
    turn_secrets: TurnSecrets
    messages: MessageStore
    sessions: SessionStore
    replicas: ReplicaRegistry
    limiter: RateLimiter
    profiles: ProfileStore
    learners: LearnerData
    summaries: SummaryStore
    summary_jobs: SummaryJobs
    memory: Memory
    connections: ConnectionSlots
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    # Set by the lifespan once providers and storage are open.
    tutor: Tutor | None = None
    voice: VoiceHub | None = None
    # Signs the audio keys of stored messages into URLs as they are read.
    audio: AudioLinks | None = None

    async def with_audio_links(self, messages: Sequence[Message]) -> list[Message]:
        """Messages as read from Redis, made ready to hand out: fresh audio URLs."""
        if self.audio is None:
            return [m.model_copy(update={"audio_urls": None}) for m in messages]
        return await self.audio.sign(messages)
