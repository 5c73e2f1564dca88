"""Start real redis-server and coturn on free loopback ports, and wait for conditions."""

import asyncio
import contextlib
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_udp_tcp_port() -> int:
    """A port free for both TCP and UDP (coturn listens on both)."""
    for _ in range(50):
        port = free_port()
        with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", port))
            return port
    raise RuntimeError("no free port")


def free_port_range(size: int) -> tuple[int, int]:
    """`size` consecutive UDP ports that are free right now (coturn's relay range)."""
    for _ in range(200):
        start = free_port(socket.SOCK_DGRAM)
        if start + size >= 65535:
            continue
        socks = []
        try:
            for port in range(start, start + size):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
            return start, start + size - 1
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError("no free port range")


def wait_until(predicate: Callable[[], T | None], timeout: float = 10.0, what: str = "") -> T:
    """Poll `predicate` until it returns something truthy, or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what or predicate}")
        time.sleep(0.05)


async def eventually(
    predicate: Callable[[], Awaitable[T | None]], within: float = 15.0, what: str = ""
) -> T:
    """Async `wait_until`: poll a coroutine function until truthy, with a deadline."""
    deadline = time.monotonic() + within
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.1)


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    port = free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _accepts(port), what=f"redis-server on {port}")
        yield RedisServer(port=port, process=process)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class Coturn:
    port: int
    relay_min: int
    relay_max: int
    log: Path
    process: subprocess.Popen[bytes]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


# What loopback testing needs on top of the operator's production config: coturn refuses
# loopback peers by default, and the production config denies 127.0.0.0/8 explicitly.
LOOPBACK_OVERRIDES = """
listening-ip=127.0.0.1
relay-ip=127.0.0.1
allow-loopback-peers
allowed-peer-ip=127.0.0.1
verbose
"""


@contextlib.contextmanager
def coturn(config: str, redis_userdb: str, workdir: Path) -> Iterator[Coturn]:
    """Run /usr/bin/turnserver with `config` (the operator's rendered turnserver.conf)."""
    port = free_udp_tcp_port()
    relay_min, relay_max = free_port_range(40)
    conf = workdir / "turnserver.conf"
    conf.write_text(
        config
        + LOOPBACK_OVERRIDES
        + f"listening-port={port}\nmin-port={relay_min}\nmax-port={relay_max}\n"
        + f"pidfile={workdir / 'turnserver.pid'}\n"
    )
    log = workdir / "coturn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                "turnserver",
                "-c",
                str(conf),
                "--log-file",
                "stdout",
                f"--redis-userdb={redis_userdb}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
    server = Coturn(port, relay_min, relay_max, log, process)
    try:
        wait_until(
            lambda: process.poll() is not None or "UDP listener opened on" in server.log_text(),
            what="coturn listener",
        )
        assert process.poll() is None, server.log_text()
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def allocate(server: Coturn, username: str, password: str) -> bool:
    """One TURN allocation with a long-term credential; True iff coturn accepted it."""
    return await _uclient(server, ["-u", username, "-w", password])


async def allocate_with_secret(server: Coturn, secret: str) -> bool:
    """One allocation with a credential turnutils_uclient mints itself from `secret`."""
    return await _uclient(server, ["-W", secret])


async def _uclient(server: Coturn, auth: list[str]) -> bool:
    # -c: no RTCP allocation, -n 0: allocate and send nothing. The exit status is 0 only when
    # the allocation succeeded (255 on 401), checked by hand against coturn 4.6.1. A refusal
    # returns at once; a success takes a few seconds, so callers run checks concurrently.
    process = await asyncio.create_subprocess_exec(
        "turnutils_uclient",
        "-p",
        str(server.port),
        "-c",
        "-n",
        "0",
        *auth,
        "-e",
        "127.0.0.1",
        "127.0.0.1",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(process.wait(), timeout=30) == 0
