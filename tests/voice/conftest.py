"""One embedded replica for the voice tests (offline STT, offline tutor, espeak-ng), shared:
starting one costs seconds. Its ICE server list is empty, as aiortc needs without a network."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.clients import Api, SocketClient
from tests.conftest import BASE_ENV
from tests.servers import Replica

VOICE_ENV = {
    **BASE_ENV,
    "HOLO_STUN_URLS": "",
    "HOLO_VOICE_MAX_SESSIONS": "3",
    "HOLO_VOICE_IDLE_TIMEOUT_SECONDS": "5",
}


@pytest.fixture(scope="session")
def voice_replica(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replica]:
    media = tmp_path_factory.mktemp("voice-media")
    replica = Replica(name="voice", env={**VOICE_ENV, "HOLO_MEDIA_DIR": str(media)}).start()
    yield replica
    replica.stop()


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("speech")


@dataclass
class Member:
    api: Api
    socket: SocketClient
    room: dict[str, Any]

    @property
    def room_id(self) -> str:
        return str(self.room["room_id"])

    async def metric(self, sample: str) -> float:
        """A sample of the replica's /metrics, by its name and labels (0 if not exported yet)."""
        text = (await self.api.request("GET", "/metrics")).text
        line = next((line for line in text.splitlines() if line.startswith(sample + " ")), None)
        return float(line.split()[1]) if line else 0.0


Join = Callable[..., Awaitable[Member]]


@pytest.fixture
def join(sockets: Callable[..., SocketClient]) -> Join:
    """join(replica) creates a room and joins it; join(replica, room=other.room) joins that one
    by its invite."""

    async def make(
        replica: Replica, room: dict[str, Any] | None = None, name: str = "Learner"
    ) -> Member:
        api = await Api.guest(replica.url, name)
        if room is None:
            room = await api.create_room()
        socket = await sockets(replica.url, api.token).connect()
        ack = await socket.call(
            "join", {"room_id": room["room_id"], "invite_token": room.get("invite_token")}
        )
        assert ack["ok"], ack
        return Member(api, socket, room)

    return make
