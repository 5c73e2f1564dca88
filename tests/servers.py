"""Real servers for the tests: redis-server and uvicorn replicas as subprocesses on free ports."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / "test-artifacts" / "logs"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):  # type: ignore[no-untyped-def]
    """Poll a condition with a deadline: for things that offer no event to await (a port
    opening, a process exiting)."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class RedisServer:
    """A redis-server of our own. ``durable`` turns on fsync-always AOF so that a restart keeps
    every acknowledged write (the default test server keeps nothing: no RDB, no AOF); ``conf``,
    a redis.conf (the chart's), decides persistence instead, with our port, address and
    directory."""

    durable: bool = False
    conf: Path | None = None
    port: int = field(default_factory=free_port)
    dir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="holo-redis-"))
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        if self.conf is not None:
            # Its own address and directory are ours (Redis changes to `dir` as it reads it).
            ours = ("port ", "bind ", "dir ")
            lines = self.conf.read_text().splitlines()
            conf = Path(self.dir) / "redis.conf"
            conf.write_text("\n".join(ln for ln in lines if not ln.startswith(ours)) + "\n")
            persistence = [str(conf)]
        elif self.durable:
            persistence = ["--save", "", "--appendonly", "yes", "--appendfsync", "always"]
        else:
            persistence = ["--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(
            [
                "redis-server",
                *persistence,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                self.dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: port_open(self.port), 10, f"redis-server on {self.port}")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def kill(self) -> None:
        """SIGKILL: a crash, with no chance to save anything on the way out."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class Replica:
    name: str
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    # What runs: the app, or another entry point that serves it (the benches' replica).
    command: tuple[str, ...] = ("-m", "app")

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def log_path(self) -> Path:
        return LOG_DIR / f"{self.name}.log"

    def start(self) -> Replica:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HOLO_")},
            "HOLO_PORT": str(self.port),
            "HOLO_REPLICA_ID": self.name,
            **self.env,
        }
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, *self.command], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        wait_until(self._ready, 45, f"replica {self.name} to be ready")
        return self

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"replica {self.name} exited; see {self.log_path}")
        try:
            return httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


NGINX_STICKY = """
    # The load balancer issues the affinity cookie itself: a new client gets a random key
    # (its request id), later requests carry it back, and a consistent hash maps key -> replica.
    map $cookie_lb $lbkey {{ "" $request_id; default $cookie_lb; }}
    upstream replicas {{ hash $lbkey consistent; {servers} }}
"""
NGINX_ROUND_ROBIN = "upstream replicas {{ {servers} }}"
NGINX_CONF = """
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; "" close; }}
    {forwarded_map}
    {upstream}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://replicas;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            # With the port, as ingress-nginx passes it: engine.io compares Origin with Host.
            proxy_set_header Host $http_host;
            proxy_read_timeout 3600s;
            {forwarded}
            {cookie}
        }}
    }}
}}
"""


@dataclass
class LoadBalancer:
    """nginx in front of replicas: ``sticky`` issues an affinity cookie (``lb``); without it,
    plain round robin. ``client_address``: append it to X-Forwarded-For as an ingress appends
    the address it was reached from (every test client comes from 127.0.0.1, so the test names
    the address a client out on the internet would have)."""

    upstreams: list[int]
    sticky: bool = True
    client_address: str | None = None
    port: int = field(default_factory=free_port)
    dir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="holo-nginx-"))
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def start(self) -> LoadBalancer:
        servers = " ".join(f"server 127.0.0.1:{p};" for p in self.upstreams)
        upstream = (NGINX_STICKY if self.sticky else NGINX_ROUND_ROBIN).format(servers=servers)
        cookie = (
            'add_header Set-Cookie "lb=$lbkey; Path=/; HttpOnly" always;' if self.sticky else ""
        )
        conf = Path(self.dir) / "nginx.conf"
        forwarded_map = forwarded = ""
        if self.client_address:
            forwarded_map = (
                f'map $http_x_forwarded_for $xff {{ "" "{self.client_address}"; '
                f'default "$http_x_forwarded_for, {self.client_address}"; }}'
            )
            forwarded = "proxy_set_header X-Forwarded-For $xff;"
        conf.write_text(
            NGINX_CONF.format(
                dir=self.dir,
                port=self.port,
                upstream=upstream,
                cookie=cookie,
                forwarded_map=forwarded_map,
                forwarded=forwarded,
            )
        )
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen(
            [nginx, "-c", str(conf), "-p", self.dir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: port_open(self.port), 10, f"nginx on {self.port}")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)
