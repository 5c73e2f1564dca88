"""Fixtures: our own redis-server, uvicorn replicas as subprocesses, clients."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Generator, Iterator

import pytest

from tests.clients import Api, SocketClient
from tests.servers import LOG_DIR, RedisClusterServers, RedisServer, Replica
from tests.stubs.elevenlabs import ElevenLabsStub
from tests.stubs.openai_chat import OpenAIChatStub


def pytest_sessionstart(session: pytest.Session) -> None:
    # Replica logs are appended to (a replica restarted in a test keeps one log); start each
    # run with none, so that a check for tracebacks reads only this run's.
    shutil.rmtree(LOG_DIR, ignore_errors=True)


# How long each replica log was when a test began, so that a failed test's report can show what
# the replicas logged during it (CI keeps only the report, not the logs).
_LOG_SIZES = pytest.StashKey[dict[str, int]]()
REPORTED_LOG_LINES = 60


def _log_sizes() -> dict[str, int]:
    return {log.name: log.stat().st_size for log in LOG_DIR.glob("*.log")}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.stash[_LOG_SIZES] = _log_sizes()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and report.when == "call":
        before = item.stash.get(_LOG_SIZES, {})
        for name, size in sorted(_log_sizes().items()):
            if size > before.get(name, 0):
                with (LOG_DIR / name).open("rb") as log:
                    log.seek(before.get(name, 0))
                    lines = log.read().decode(errors="replace").splitlines()
                tail = "\n".join(lines[-REPORTED_LOG_LINES:])
                report.sections.append((f"replica log {name}, during the test (tail)", tail))
    return report


# Test replicas: generous limits (every test client comes from 127.0.0.1), a fast heartbeat, and
# no STUN server on the internet.
BASE_ENV = {
    "HOLO_RATE_LIMIT_PER_MINUTE": "1000000",
    "HOLO_SOCKET_EVENTS_PER_SECOND": "10000",
    "HOLO_SOCKET_EVENT_BURST": "10000",
    "HOLO_SOCKET_CONNECTIONS_PER_USER": "10000",
    "HOLO_SOCKET_CONNECTIONS_PER_IP": "10000",
    "HOLO_HEARTBEAT_INTERVAL_SECONDS": "1",
    "HOLO_HEARTBEAT_TTL_SECONDS": "3",
    "HOLO_DRAIN_SECONDS": "0.5",
    "HOLO_STUN_URLS": "stun:127.0.0.1:3478",
    "HOLO_LOG_LEVEL": "INFO",
}


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterServers]:
    """A three-node Redis Cluster (every primary holds a third of the slots)."""
    servers = RedisClusterServers().start()
    yield servers
    servers.cleanup()


ReplicaFactory = Callable[..., Replica]


@pytest.fixture
def start_replica() -> Iterator[ReplicaFactory]:
    """Start replicas for one test (stopped at its end): start_replica("a", redis_url=...)."""
    started: list[Replica] = []

    def start(name: str, redis_url: str | None = None, **env: str) -> Replica:
        full_env = {**BASE_ENV, **{f"HOLO_{k.upper()}": v for k, v in env.items()}}
        if redis_url:
            full_env["HOLO_REDIS_URL"] = redis_url
        replica = Replica(name=name, env=full_env).start()
        started.append(replica)
        return replica

    yield start
    for replica in started:
        replica.kill()


@pytest.fixture(scope="session")
def cluster(redis_server: RedisServer) -> Iterator[list[Replica]]:
    """Two replicas sharing the session's Redis, for tests that do not stop anything."""
    replicas = [
        Replica(name=f"cluster-{i}", env={**BASE_ENV, "HOLO_REDIS_URL": redis_server.url}).start()
        for i in range(2)
    ]
    yield replicas
    for replica in replicas:
        replica.stop()


@pytest.fixture(scope="session")
def embedded() -> Iterator[Replica]:
    """One replica with no Redis at all: the `make run` default."""
    replica = Replica(name="embedded", env=dict(BASE_ENV)).start()
    yield replica
    replica.stop()


@pytest.fixture
async def sockets() -> AsyncIterator[Callable[..., SocketClient]]:
    """Make Socket.IO clients that are disconnected at the end of the test."""
    made: list[SocketClient] = []

    def make(url: str, token: str | None, **kwargs: object) -> SocketClient:
        client = SocketClient(url, token, **kwargs)  # type: ignore[arg-type]
        made.append(client)
        return client

    yield make
    for client in made:
        try:
            await client.close()
        except Exception:
            pass


# The vendor stand-ins (tests/stubs), shared by the provider and tutor tests: one server each for
# the session, reset (profile, planned failures, recorded requests) around every test.
CHAT_KEY = "sk-test-chat"
VOICE_KEY = "xi-test-voice"


@pytest.fixture(scope="session")
def chat_server() -> Iterator[OpenAIChatStub]:
    with OpenAIChatStub(api_key=CHAT_KEY) as stub:
        yield stub


@pytest.fixture
def chat_stub(chat_server: OpenAIChatStub) -> Iterator[OpenAIChatStub]:
    chat_server.reset()
    yield chat_server
    chat_server.reset()


@pytest.fixture(scope="session")
def voice_server() -> Iterator[ElevenLabsStub]:
    with ElevenLabsStub(api_key=VOICE_KEY) as stub:
        yield stub


@pytest.fixture
def voice_stub(voice_server: ElevenLabsStub) -> Iterator[ElevenLabsStub]:
    voice_server.reset()
    yield voice_server
    voice_server.reset()


__all__ = ["Api"]
