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
    extra_args: tuple[str, ...] = ()
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
                *self.extra_args,
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
class RedisClusterServers:
    """A Redis Cluster of our own: ``size`` primaries, each with ``replicas`` replicas, on free
    ports, every slot assigned; ``url`` is the ``redis+cluster://`` address the app takes."""

    size: int = 3
    replicas: int = 0
    nodes: list[RedisServer] = field(default_factory=list)

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def start(self) -> RedisClusterServers:
        for _ in range(self.size * (1 + self.replicas)):
            node = RedisServer(
                extra_args=(
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    # The bus's port of its own (the default, port + 10000, may not exist).
                    "--cluster-port",
                    str(free_port()),
                )
            )
            self.nodes.append(node.start())
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{n.port}" for n in self.nodes),
                "--cluster-replicas",
                str(self.replicas),
                "--cluster-yes",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._ok, 30, "the Redis Cluster to reach cluster_state:ok", interval=0.1)
        wait_until(self._replicas_attached, 30, "every replica to attach", interval=0.1)
        return self

    def cli(self, node: RedisServer, *args: str) -> str:
        return subprocess.run(
            ["redis-cli", "-p", str(node.port), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    def owner(self, slot: int) -> RedisServer:
        """The node serving ``slot`` now, as the first node sees it."""
        port = self._owner_seen_by(self.nodes[0], slot)
        if port is None:
            raise LookupError(slot)
        return next(n for n in self.nodes if n.port == port)

    def fail_over(self, slot: int) -> RedisServer:
        """A manual failover of the primary serving ``slot`` (``CLUSTER FAILOVER`` on one of its
        replicas, as an operator or a managed Redis does for maintenance); returns the promoted
        node once every node sees it serving the slot."""
        primary = self.owner(slot)
        replicas = self.cli(primary, "cluster", "replicas", self.cli(primary, "cluster", "myid"))
        port = _port(replicas.splitlines()[0].split()[1])
        replica = next(n for n in self.nodes if n.port == port)
        # A manual failover needs the replica in step with its primary.
        wait_until(
            lambda: "master_link_status:up" in self.cli(replica, "info", "replication"),
            30,
            "the replica to be in sync",
            interval=0.05,
        )
        self.cli(replica, "cluster", "failover")
        wait_until(
            lambda: all(self._owner_seen_by(n, slot) == replica.port for n in self.nodes),
            30,
            "the failover to be seen by every node",
            interval=0.05,
        )
        return replica

    def _owner_seen_by(self, node: RedisServer, slot: int) -> int | None:
        """The port of the node serving ``slot`` in ``node``'s CLUSTER NODES (id, address, ...,
        slot ranges)."""
        for line in self.cli(node, "cluster", "nodes").splitlines():
            fields = line.split()
            for span in fields[8:]:
                start, _, end = span.partition("-")
                if start.isdigit() and int(start) <= slot <= int(end or start):
                    return _port(fields[1])
        return None

    def move_slot(self, slot: int, to: RedisServer) -> None:
        """A resharding of one slot, keys and all (what `redis-cli --cluster reshard` does)."""
        source = self.owner(slot)
        source_id, target_id = self.cli(source, "cluster", "myid"), self.cli(to, "cluster", "myid")
        self.cli(to, "cluster", "setslot", str(slot), "importing", source_id)
        self.cli(source, "cluster", "setslot", str(slot), "migrating", target_id)
        while names := self.cli(source, "cluster", "getkeysinslot", str(slot), "100").split():
            self.cli(source, "migrate", "127.0.0.1", str(to.port), "", "0", "5000", "keys", *names)
        for node in self.nodes:
            self.cli(node, "cluster", "setslot", str(slot), "node", target_id)

    def _replicas_attached(self) -> bool:
        """Every node sees ``size * replicas`` replicas with their cluster bus links up
        (``fail_over`` also waits for the replication link)."""
        for node in self.nodes:
            lines = self.cli(node, "cluster", "nodes").splitlines()
            replicas = [line for line in lines if "slave" in line.split()[2]]
            if len(replicas) < self.size * self.replicas or any(
                "connected" not in line for line in replicas
            ):
                return False
        return True

    def _ok(self) -> bool:
        for node in self.nodes:
            info = subprocess.run(
                ["redis-cli", "-p", str(node.port), "cluster", "info"],
                capture_output=True,
                text=True,
            ).stdout
            if "cluster_state:ok" not in info:
                return False
        return True

    def cleanup(self) -> None:
        for node in self.nodes:
            node.cleanup()


def _port(address: str) -> int:
    """The port of a CLUSTER NODES address (``host:port@bus-port``)."""
    return int(address.split("@")[0].rpartition(":")[2])


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
