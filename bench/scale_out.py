"""Scale-out: server CPU per delivered message with 2 and with 4 replicas under the same load.

The app's Socket.IO manager publishes every broadcast on one Redis channel that every replica
subscribes to, so every replica receives and JSON-decodes every message, even those for rooms
it holds no client of: the total CPU per message grows with the replica count. The same is
measured for Node's socket.io with @socket.io/redis-adapter (whose subscribers also receive
every message, msgpack-encoded) for reference.

A third run per stack puts the same clients on 2 of 4 servers: the 2 servers without clients
("bystanders") show directly what the shared channel alone costs a replica per message.

Load: the relay bench's fixed phase (50 rooms x 2 clients, the two clients of a room on different
replicas), at 1 msg/s per client (100 msg/s offered) so that 4 replicas stay below capacity on a
2-core machine, after a short warm-up. The tutor is off (as in realtime_relay's holo rows).

Environment: BENCH_ROOMS (50), BENCH_RATE (1), BENCH_PHASE_SECONDS (6), BENCH_SCALE_STACKS
(holo,node), BENCH_CLIENT_PROCS (2).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from bench._harness import log, machine, start_stack, table, write_results
from bench._load import Load, make_rooms


def run(
    kind: str, replicas: int, rooms: int, rate: float, seconds: float, on: int | None = None
) -> dict[str, Any]:
    tag = f"{kind}{replicas}" + (f" (clients on {on})" if on else "")
    log(f"[{tag}] starting {replicas} {kind} servers on one redis-server")
    stack = start_stack(kind, replicas, prefix="scale-")
    load = None
    try:
        specs = asyncio.run(make_rooms(stack, rooms, on))
        load = Load(stack, specs)
        t0 = time.monotonic()
        load.connect()
        log(f"[{tag}] {2 * rooms} clients joined in {time.monotonic() - t0:.1f}s")
        load.phase("fixed", phase="w", rate=rate, duration=min(3.0, seconds))  # warm-up
        per0 = [p.cpu() for p in stack.servers]
        res = load.phase("fixed", phase="f", rate=rate, duration=seconds)
        per = [p.cpu() - c for p, c in zip(stack.servers, per0, strict=True)]
        res["per_replica_cpu_s"] = per
        res["server_log_digest"] = stack.log_digest()
        log(
            f"[{tag}] delivered {res['delivered']}/{res['sent']}, "
            f"server {res['server_cpu_us_per_msg']:.0f} us/msg "
            f"(per replica {', '.join(f'{c:.2f}s' for c in per)}), "
            f"redis {res['redis_cpu_us_per_msg']:.0f} us/msg, p50 {res['rtt_p50_ms']:.1f} ms"
        )
        return res
    finally:
        if load is not None:
            load.close()
        stack.close()


def main() -> None:
    rooms = int(os.environ.get("BENCH_ROOMS", "50"))
    # 1 msg/s per client: 4 replicas, the clients and Redis must fit on 2 shared cores.
    rate = float(os.environ.get("BENCH_RATE", "1"))
    seconds = float(os.environ.get("BENCH_PHASE_SECONDS", "6"))
    kinds = [k.strip() for k in os.environ.get("BENCH_SCALE_STACKS", "holo,node").split(",")]
    log(
        f"scale_out: {rooms} rooms x 2 clients, {rate * 2 * rooms:.0f} msg/s offered, "
        f"{seconds:.0f}s, 2, 4 and 2+2 (bystanders) servers of: {', '.join(kinds)}"
    )
    results: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        for n in (2, 4):
            results[f"{kind}{n}"] = run(kind, n, rooms, rate, seconds)
        # 4 servers, clients on the first 2 only: what a replica with no client in the rooms
        # spends on the shared channel's traffic.
        results[f"{kind}2+2"] = run(kind, 4, rooms, rate, seconds, on=2)
    rows = []
    for kind in kinds:
        two, four, by = results[f"{kind}2"], results[f"{kind}4"], results[f"{kind}2+2"]
        c2, c4 = two["server_cpu_us_per_msg"], four["server_cpu_us_per_msg"]
        bystander = sum(by["per_replica_cpu_s"][2:]) / 2 / max(by["delivered"], 1) * 1e6
        by["bystander_cpu_us_per_msg"] = bystander
        rows.append(
            [
                kind,
                c2,
                c4,
                c4 / c2,
                (c4 - c2) / 2,
                bystander,
                two["redis_cpu_us_per_msg"],
                four["redis_cpu_us_per_msg"],
                two["rtt_p50_ms"],
                four["rtt_p50_ms"],
                four["sent"] - four["delivered"] + two["sent"] - two["delivered"],
            ]
        )
    text = "\n".join(
        [
            table(
                [
                    "stack",
                    "2 repl us/msg",
                    "4 repl us/msg",
                    "4/2 ratio",
                    "us/msg per extra replica",
                    "bystander us/msg",
                    "redis 2",
                    "redis 4",
                    "p50 ms 2",
                    "p50 ms 4",
                    "lost",
                ],
                rows,
            ),
            "us/msg: CPU of all server processes per delivered message at the same offered load "
            f"({rate * 2 * rooms:.0f} msg/s); 'per extra replica' = (4 - 2) / 2, the cost each "
            "added replica puts on every message; bystander: CPU per message of a replica that "
            "holds no client (4 servers, clients on 2 of them) - the cost of the shared channel "
            "alone; redis: redis-server CPU per message.",
        ]
    )
    if "holo" in kinds and "node" in kinds:
        h = results["holo2+2"]["bystander_cpu_us_per_msg"]
        n = results["node2+2"]["bystander_cpu_us_per_msg"]
        if n > 0:
            text += f"\nbystander cost per message, holo / node: {h / n:.1f}x"
    print()
    print(text, flush=True)
    write_results(
        "scale_out",
        {
            "machine": machine(),
            "params": {"rooms": rooms, "rate_per_client": rate, "phase_seconds": seconds},
            "results": results,
            "table": text,
        },
    )


if __name__ == "__main__":
    main()
