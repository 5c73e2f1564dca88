"""Memory per idle connected client: RSS growth of one server process over 1,000 websocket
clients, holo-tutor beside Node's socket.io.

holo-tutor is measured by scripts/measure-connection-memory (the script that sizes the chart's
`resources`), run as it is: one replica on a redis-server, a guest token per client, RSS before,
the clients connected one after another (python-socketio, websocket transport), 3 s to settle,
RSS after. The Node baseline (bench/node/server.js with @socket.io/redis-adapter on its own
redis-server) goes through the same steps here: the clients need no token there, so the
process is warmed with a few connections instead of the token requests.

Environment: BENCH_IDLE_CLIENTS (1000).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from typing import Any

import socketio

from bench._harness import ROOT, log, machine, start_stack, table, write_results

SCRIPT = ROOT / "scripts" / "measure-connection-memory"
_LINE = re.compile(
    r"connections=(\d+) rss_before=([\d.]+)MiB rss_after=([\d.]+)MiB per_conn=([\d.]+)KiB"
)


def measure_holo(n: int, attempts: int = 2) -> dict[str, Any]:
    for attempt in range(1, attempts + 1):
        log(f"[holo] scripts/measure-connection-memory {n}")
        t0 = time.monotonic()
        out = subprocess.run(
            [sys.executable, str(SCRIPT), str(n)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        m = _LINE.search(out.stdout)
        if out.returncode == 0 and m is not None:
            res = {
                "clients": int(m[1]),
                "rss_before_mib": float(m[2]),
                "rss_after_mib": float(m[3]),
                "per_client_kib": float(m[4]),
                "seconds": time.monotonic() - t0,
                "attempts": attempt,
            }
            log(f"[holo] {m[0]} ({res['seconds']:.0f}s)")
            return res
        # The script connects with python-socketio's default 1 s wait: on a busy machine a
        # connection can miss it. Show the first traceback, not the warnings that follow it.
        err = out.stderr
        err = err[err.find("Traceback") :] if "Traceback" in err else err[-2000:]
        log(f"[holo] attempt {attempt} failed (exit {out.returncode}): {err[:3000]}")
    raise RuntimeError(f"scripts/measure-connection-memory failed {attempts} times")


async def _connect_idle(url: str, n: int, rss: Any) -> tuple[int, int]:
    # Warm-up: a few connections come and go, so lazily built things are in the baseline.
    for i in range(20):
        c = socketio.AsyncClient()
        await c.connect(url, auth={"token": f"warm-{i}"}, transports=["websocket"], wait_timeout=10)
        await c.disconnect()
    await asyncio.sleep(1)
    before = rss()
    clients = []
    for i in range(n):
        c = socketio.AsyncClient()
        await c.connect(url, auth={"token": f"idle-{i}"}, transports=["websocket"], wait_timeout=10)
        clients.append(c)
    await asyncio.sleep(3)
    after = rss()
    for c in clients:
        await c.disconnect()
    return before, after


def measure_node(n: int) -> dict[str, Any]:
    log(f"[node] {n} idle websocket clients on one socket.io process with the Redis adapter")
    t0 = time.monotonic()
    stack = start_stack("node", 1, prefix="idle-")
    try:
        server = stack.servers[0]
        before, after = asyncio.run(_connect_idle(server.url, n, server.rss))
    finally:
        stack.close()
    res = {
        "clients": n,
        "rss_before_mib": before / 2**20,
        "rss_after_mib": after / 2**20,
        "per_client_kib": (after - before) / n / 1024,
        "seconds": time.monotonic() - t0,
    }
    log(
        f"[node] connections={n} rss_before={res['rss_before_mib']:.1f}MiB "
        f"rss_after={res['rss_after_mib']:.1f}MiB per_conn={res['per_client_kib']:.1f}KiB "
        f"({res['seconds']:.0f}s)"
    )
    return res


def main() -> None:
    import os

    n = int(os.environ.get("BENCH_IDLE_CLIENTS", "1000"))
    results = {"holo": measure_holo(n), "node": measure_node(n)}
    rows = [
        [k, r["clients"], r["rss_before_mib"], r["rss_after_mib"], r["per_client_kib"]]
        for k, r in results.items()
    ]
    ratio = results["holo"]["per_client_kib"] / results["node"]["per_client_kib"]
    text = "\n".join(
        [
            table(["server", "clients", "RSS before MiB", "RSS after MiB", "KiB/client"], rows),
            f"holo / node per idle client: {ratio:.1f}x",
        ]
    )
    print()
    print(text, flush=True)
    write_results(
        "idle_memory",
        {"machine": machine(), "clients": n, "results": results, "ratio": ratio, "table": text},
    )


if __name__ == "__main__":
    main()
