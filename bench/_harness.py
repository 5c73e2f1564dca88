"""Processes for the benches: redis-server, holo-tutor replicas and Node socket.io servers, each
on a free loopback port, with their CPU time (the kernel's per-process CPU clock, to the
nanosecond) and RSS (psutil).

Self-contained on purpose (tests/servers.py does the same for the tests, with test-specific
logging and timeouts); everything here is torn down by ``Stack.close``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
NODE_DIR = BENCH / "node"
RESULTS = BENCH / "results"
LOGS = RESULTS / "logs"

# Limits high enough that the bench measures the relay, not the rate limiter.
HOLO_BENCH_ENV = {
    "HOLO_HOST": "127.0.0.1",
    "HOLO_RATE_LIMIT_PER_MINUTE": "100000000",
    "HOLO_SOCKET_EVENTS_PER_SECOND": "1000000",
    "HOLO_SOCKET_EVENT_BURST": "1000000",
    "HOLO_SOCKET_CONNECTIONS_PER_USER": "1000000",
    "HOLO_SOCKET_CONNECTIONS_PER_IP": "1000000",
    "HOLO_DRAIN_SECONDS": "0",
    "HOLO_SHUTDOWN_GRACE_SECONDS": "3",
    "HOLO_STUN_URLS": "stun:127.0.0.1:3478",
    # No speech synthesis (espeak-ng per sentence would dwarf the relay; bench/first_audio.py
    # measures voice).
    "HOLO_TTS_PROVIDER": "none",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


_LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def process_cpu_seconds(pid: int) -> float | None:
    """CPU time of every thread of process ``pid`` so far, from its POSIX CPU-time clock.

    psutil reads /proc/<pid>/stat, counted in ticks of 10 ms: over a 6 s phase, a replica that
    spends 80 ms was measured to within an eighth (scale_out runs 8 of them)."""
    clock = ctypes.c_int()
    if _LIBC.clock_getcpuclockid(pid, ctypes.byref(clock)) != 0:
        return None
    try:
        return time.clock_gettime(clock.value)
    except OSError:  # it has just exited
        return None


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


@dataclass
class Proc:
    """One server process we started."""

    name: str
    kind: str  # holo | node | redis
    port: int
    popen: subprocess.Popen[bytes]
    ps: psutil.Process = field(init=False)

    def __post_init__(self) -> None:
        self.ps = psutil.Process(self.popen.pid)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu(self) -> float:
        """User + system CPU seconds so far (children included, to the tick)."""
        t = self.ps.cpu_times()
        own = process_cpu_seconds(self.popen.pid)
        if own is None:
            own = t.user + t.system
        return float(own + t.children_user + t.children_system)

    def rss(self) -> int:
        return int(self.ps.memory_info().rss)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 10) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


def _wait(proc: Proc, ready: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if not proc.alive():
            raise RuntimeError(f"{what} exited with {proc.popen.returncode}; see {LOGS}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {timeout}s; see {LOGS}")
        time.sleep(0.05)


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _logfile(name: str) -> Any:
    LOGS.mkdir(parents=True, exist_ok=True)
    return (LOGS / f"{name}.log").open("wb")


def start_redis(name: str = "redis") -> Proc:
    if shutil.which("redis-server") is None:
        raise SystemExit(
            "redis-server not found (make system-packages, or apt-get install redis-server)"
        )
    port = free_port()
    popen = subprocess.Popen(
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
        stdout=_logfile(name),
        stderr=subprocess.STDOUT,
    )
    proc = Proc(name, "redis", port, popen)
    _wait(proc, lambda: port_open(port), 10, name)
    return proc


def spawn_holo(
    name: str, redis_url: str | None, *, tutor: bool = True, extra_env: dict[str, str] | None = None
) -> Proc:
    """A holo-tutor replica; ``tutor=False`` runs it without the AI tutor (bench/_replica.py)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOLO_")}
    env.update(HOLO_BENCH_ENV)
    env.update({"HOLO_PORT": str(port), "HOLO_REPLICA_ID": name})
    if redis_url:
        env["HOLO_REDIS_URL"] = redis_url
    # BENCH_HOLO_X=v reaches the replicas as HOLO_X=v (experiments: pool sizes, log level).
    env.update(
        {
            "HOLO_" + k[len("BENCH_HOLO_") :]: v
            for k, v in os.environ.items()
            if k.startswith("BENCH_HOLO_")
        }
    )
    env.update(extra_env or {})
    popen = subprocess.Popen(
        [sys.executable, "-m", "bench._replica", *([] if tutor else ["--no-tutor"])],
        cwd=ROOT,
        env=env,
        stdout=_logfile(name),
        stderr=subprocess.STDOUT,
    )
    return Proc(name, "holo", port, popen)


def ensure_node() -> str:
    node = shutil.which("node")
    if node is None or shutil.which("npm") is None:
        raise SystemExit(
            "node and npm are needed for the Node baseline (apt-get install nodejs npm)"
        )
    if not (NODE_DIR / "node_modules" / "@socket.io" / "redis-adapter").is_dir():
        log("installing the Node baseline (npm install --prefix bench/node)")
        subprocess.run(
            ["npm", "install", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund"],
            check=True,
        )
    return node


def spawn_node(name: str, redis_url: str | None, store: bool = True, sharded: bool = False) -> Proc:
    """sharded: @socket.io/redis-adapter's sharded adapter (dynamic mode: a channel per room)."""
    node = ensure_node()
    port = free_port()
    env = dict(os.environ, PORT=str(port), HOST="127.0.0.1", NAME=name, STORE="1" if store else "0")
    env["ADAPTER"] = "sharded" if sharded else "classic"
    env["REDIS_URL"] = redis_url or ""
    popen = subprocess.Popen(
        [node, str(NODE_DIR / "server.js")],
        cwd=NODE_DIR,
        env=env,
        stdout=_logfile(name),
        stderr=subprocess.STDOUT,
    )
    return Proc(name, "node", port, popen)


def wait_ready(procs: list[Proc], timeout: float = 120) -> None:
    for p in procs:
        path = "/readyz" if p.kind == "holo" else "/healthz"
        _wait(p, lambda p=p, path=path: _http_ok(p.url + path), timeout, p.name)


@dataclass
class Stack:
    """A redis-server (optional) and N servers of one kind on it."""

    kind: str  # holo | node | node-sharded
    servers: list[Proc]
    redis: Proc | None

    @property
    def redis_url(self) -> str | None:
        return f"redis://127.0.0.1:{self.redis.port}/0" if self.redis else None

    def server_cpu(self) -> float:
        return sum(p.cpu() for p in self.servers)

    def redis_cpu(self) -> float:
        return self.redis.cpu() if self.redis else 0.0

    def check_alive(self) -> None:
        for p in self.servers:
            if not p.alive():
                raise RuntimeError(
                    f"{p.name} died (exit {p.popen.returncode}); see {LOGS}/{p.name}.log"
                )

    def client_list(self) -> list[dict[str, str]]:
        """Redis CLIENT LIST, without this call's own connection."""
        if self.redis is None:
            return []
        import redis as redis_py

        r = redis_py.Redis(port=self.redis.port, decode_responses=True)
        try:
            return [c for c in r.client_list() if c.get("cmd") != "client|list"]
        finally:
            r.close()

    def redis_clients(self, clients: list[dict[str, str]] | None = None) -> Counter[str]:
        """Connections per client name."""
        clients = self.client_list() if clients is None else clients
        return Counter(c.get("name") or "(unnamed)" for c in clients)

    def log_digest(self) -> dict[str, int]:
        """Warnings and errors the servers logged (and the reaper's "is gone" lines), counted:
        a refused send in the figures usually has its reason here."""
        seen: Counter[str] = Counter()
        for p in self.servers:
            path = LOGS / f"{p.name}.log"
            if not path.exists():
                continue
            for line in path.read_text(errors="replace").splitlines():
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                level, message = rec.get("level", ""), str(rec.get("message", ""))
                if level in ("WARNING", "ERROR", "CRITICAL") or " is gone" in message:
                    seen[f"{p.name}: {level} {message[:160]}"] += 1
        return dict(seen.most_common(20))

    def close(self) -> None:
        for p in self.servers:
            p.stop()
        if self.redis is not None:
            self.redis.stop()


def start_stack(
    kind: str,
    replicas: int,
    *,
    redis: bool = True,
    store: bool = True,
    tutor: bool = False,
    prefix: str = "",
) -> Stack:
    """kind=holo: holo-tutor replicas (redis=False: one embedded process; tutor=False: without
    the AI tutor); kind=node: Node socket.io processes with the Redis adapter (redis=False:
    in-memory; store=False: relay only); kind=node-sharded: with the sharded adapter."""
    rproc = start_redis(f"{prefix}redis") if redis else None
    url = f"redis://127.0.0.1:{rproc.port}/0" if rproc else None
    servers: list[Proc] = []
    try:
        for i in range(replicas):
            name = f"{prefix}{kind}-{i}"
            servers.append(
                spawn_holo(name, url, tutor=tutor)
                if kind == "holo"
                else spawn_node(name, url, store, sharded=kind == "node-sharded")
            )
        wait_ready(servers)
        if kind == "holo" and not tutor:
            for p in servers:
                first = (LOGS / f"{p.name}.log").read_text(errors="replace").splitlines()[:1]
                if first != ["bench: tutor disabled"]:
                    log(f"WARNING {p.name}: could not disable the tutor: {first}")
    except BaseException:
        for p in servers:
            p.stop()
        if rproc:
            rproc.stop()
        raise
    return Stack(kind, servers, rproc)


def replica_connections(stack: Stack, counts: Counter[str]) -> dict[str, int]:
    """Redis connections per server process, from CLIENT LIST names: holo-tutor names its
    connections ``holo:<replica id>`` and ``holo:<replica id>:pubsub`` (the id is the
    configured name plus a per-start suffix, ``-<pid>-<hex>``); the Node baseline
    ``node:<name>`` and ``node:<name>:sub``."""
    out: dict[str, int] = {}
    for p in stack.servers:
        prefix = f"{p.kind}:{p.name}"
        out[p.name] = sum(
            n
            for name, n in counts.items()
            if name == prefix or name.startswith((prefix + ":", prefix + "-"))
        )
    return out


def pubsub_backlog(clients: list[dict[str, str]]) -> int:
    """Bytes waiting in Redis's output buffers of subscriber connections (messages published
    but not yet read by a replica): grows when a replica cannot keep up with the channel."""
    return sum(
        int(c.get("omem", 0)) for c in clients if int(c.get("sub", 0)) + int(c.get("psub", 0)) > 0
    )


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "loadavg_at_start": os.getloadavg(),
        "python": sys.version.split()[0],
        "node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
        if shutil.which("node")
        else None,
    }


def write_results(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    log(f"results written to {path.relative_to(ROOT)}")
    return path


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for j, r in enumerate(cells):
        lines.append(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if v != v:
            return "-"
        if abs(v) >= 100:
            return f"{v:.0f}"
        if abs(v) >= 10:
            return f"{v:.1f}"
        return f"{v:.2f}"
    return str(v)


def start_profile(proc: Proc, seconds: float, tag: str) -> tuple[subprocess.Popen[bytes], Path]:
    """``py-spy record`` of one server for ``seconds`` (collapsed stacks, for ``profile_summary``).
    Needs py-spy in the venv and ptrace rights; the benches start it only with BENCH_PYSPY=1."""
    spy = Path(sys.executable).with_name("py-spy")
    LOGS.mkdir(parents=True, exist_ok=True)
    out = LOGS / f"profile-{tag}-{proc.name}.txt"
    popen = subprocess.Popen(
        [
            str(spy),
            "record",
            "--pid",
            str(proc.popen.pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "200",
            "--format",
            "raw",
            "--nonblocking",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return popen, out


def profile_summary(path: Path, top: int = 25) -> str:
    """The functions a collapsed-stack profile spent its samples in: by own time (the leaf
    frame) and by inclusive time (anywhere on the stack), as shares of all samples."""
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    if not path.exists():
        return f"(no profile at {path})"
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [
            f.split(" (")[0] + " " + f.rsplit("/", 1)[-1].split(":")[0].rstrip(")")
            for f in stack.split(";")
        ]
        own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    if not total:
        return "(empty profile)"
    lines = [f"{total} samples; own time:"]
    lines += [f"  {n / total:6.1%}  {f}" for f, n in own.most_common(top)]
    lines.append("inclusive:")
    lines += [f"  {n / total:6.1%}  {f}" for f, n in incl.most_common(top)]
    return "\n".join(lines)
