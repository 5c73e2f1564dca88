"""Idle cost: CPU and Redis commands per second of a replica with no client connected.

Every replica added to a deployment pays this whatever the traffic, so it is what the cost per
message grows by with the replica count at a given load (``scale_out``). Stacks: holo-tutor as
shipped (``holo``, the AI tutor on: its job streams' blocking reads, the reclaim loops), without
the tutor (``holo-no-tutor``, the realtime core as the relay benches run it), and Node's
socket.io with the classic and the sharded Redis adapter. Each stack is BENCH_IDLE_REPLICAS (2)
servers on one redis-server, measured for BENCH_IDLE_SECONDS (30) after a 5 s settle.

Environment: BENCH_IDLE_STACKS (holo,holo-no-tutor,node,node-sharded), BENCH_IDLE_REPLICAS (2),
BENCH_IDLE_SECONDS (30).
"""

from __future__ import annotations

import os
import time
from typing import Any

from bench._harness import Stack, log, machine, start_stack, table, write_results

SETTLE_SECONDS = 5.0
STACKS = ("holo", "holo-no-tutor", "node", "node-sharded")


def redis_calls(stack: Stack) -> int:
    """Commands Redis has executed so far (all clients)."""
    import redis as redis_py

    assert stack.redis is not None
    r = redis_py.Redis(port=stack.redis.port, decode_responses=True)
    try:
        stats: dict[str, Any] = r.info("commandstats")
        return sum(int(v["calls"]) for v in stats.values())
    finally:
        r.close()


def run(name: str, replicas: int, seconds: float) -> dict[str, Any]:
    kind = "holo" if name.startswith("holo") else name
    log(f"[{name}] starting {replicas} servers on one redis-server")
    stack = start_stack(
        kind, replicas, tutor=name == "holo", prefix=f"idle-{'tutor-' if name == 'holo' else ''}"
    )
    try:
        time.sleep(SETTLE_SECONDS)
        cpu0, calls0, t0 = stack.server_cpu(), redis_calls(stack), time.monotonic()
        time.sleep(seconds)
        cpu, calls = stack.server_cpu() - cpu0, redis_calls(stack) - calls0
        elapsed = time.monotonic() - t0
        stack.check_alive()
        res = {
            "cpu_ms_per_second": cpu / elapsed / replicas * 1e3,
            # Our own INFO call is counted once per reading: taken off.
            "redis_commands_per_second": (calls - 1) / elapsed / replicas,
        }
        log(
            f"[{name}] {res['cpu_ms_per_second']:.2f} ms of CPU a second per server, "
            f"{res['redis_commands_per_second']:.2f} Redis commands a second per server"
        )
        return res
    finally:
        stack.close()


def main() -> None:
    stacks = os.environ.get("BENCH_IDLE_STACKS", "holo,holo-no-tutor,node,node-sharded")
    names = [s.strip() for s in stacks.split(",")]
    if unknown := [n for n in names if n not in STACKS]:
        raise SystemExit(
            f"BENCH_IDLE_STACKS: unknown {', '.join(unknown)} (have: {', '.join(STACKS)})"
        )
    replicas = int(os.environ.get("BENCH_IDLE_REPLICAS", "2"))
    seconds = float(os.environ.get("BENCH_IDLE_SECONDS", "30"))
    log(f"idle_cpu: {replicas} idle servers of each of {', '.join(names)}, {seconds:.0f}s")
    results = {name: run(name, replicas, seconds) for name in names}
    text = "\n".join(
        [
            table(
                ["stack", "CPU ms/s per server", "Redis commands/s per server"],
                [
                    [n, r["cpu_ms_per_second"], r["redis_commands_per_second"]]
                    for n, r in results.items()
                ],
            ),
            "No client connected: what one more replica costs whatever the traffic.",
        ]
    )
    print()
    print(text, flush=True)
    write_results(
        "idle_cpu",
        {
            "machine": machine(),
            "params": {"replicas": replicas, "seconds": seconds},
            "results": results,
            "table": text,
        },
    )


if __name__ == "__main__":
    main()
