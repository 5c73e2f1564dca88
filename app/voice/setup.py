"""Building the replica's voice hub in the app's lifespan (after the tutor it feeds)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiortc import RTCIceServer

from app.api.ice import ice_servers_for
from app.providers.storage.local import LocalStorage
from app.providers.stt.factory import build_stt
from app.providers.stt.pocketsphinx import PocketsphinxSTT
from app.realtime.manager import RedisPubSubManager
from app.services import Services
from app.tutor.service import Tutor
from app.voice.hub import VoiceHub
from app.voice.session import VadSettings


@contextlib.asynccontextmanager
async def open_voice(
    services: Services, tutor: Tutor, local: LocalStorage | None
) -> AsyncIterator[VoiceHub]:
    settings = services.settings
    stt = build_stt(settings, services.http)
    warming: asyncio.Task[None] | None = None
    if isinstance(stt, PocketsphinxSTT) and settings.voice_max_sessions > 0:
        # In the background: the replica serves at once, and the first utterance (seconds
        # away at least) finds the decoder loaded.
        warming = asyncio.create_task(stt.warm_up(), name="stt-warm-up")

    async def ice(user_id: str) -> list[RTCIceServer]:
        # The browser's own list: STUN, and TURN (with credentials) when the operator runs it.
        # An empty list is passed as such: aiortc would otherwise try a public STUN server.
        servers, _ = await ice_servers_for(services, user_id)
        return [
            RTCIceServer(urls=s.urls, username=s.username, credential=s.credential) for s in servers
        ]

    hub = VoiceHub(
        sio=services.sio,
        rooms=services.rooms,
        messages=services.messages,
        catalogue=services.catalogue,
        tutor=tutor,
        stt=stt,
        usage=tutor.deps.usage,
        metrics=services.metrics,
        http=services.http,
        local_media=local,
        ice=ice,
        sign=services.with_audio_links,
        max_sessions=settings.voice_max_sessions,
        seconds_budget=settings.stt_seconds_budget,
        offline_stt=PocketsphinxSTT,
        vad=VadSettings(
            silence_seconds=settings.voice_silence_seconds,
            min_speech_seconds=settings.voice_min_speech_seconds,
            idle_timeout=settings.voice_idle_timeout_seconds,
        ),
    )
    services.metrics.voice_capacity.set(settings.voice_max_sessions)
    tutor.deps.voice = hub
    manager = services.sio.manager
    if isinstance(manager, RedisPubSubManager):
        manager.observers.append(hub.on_room_event)
    try:
        yield hub
    finally:
        if warming is not None:
            warming.cancel()
        tutor.deps.voice = None
        await hub.close()
