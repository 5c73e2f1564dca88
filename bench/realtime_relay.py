"""Cross-replica chat relay: holo-tutor on 2 replicas sharing one redis-server, beside the same
load on one embedded holo-tutor process (no Redis) and on Node's socket.io with
@socket.io/redis-adapter (2 processes on one redis-server).

Load: 50 rooms x 2 clients, the two clients of a room on different servers, small messages.
- fixed phase (after a 3 s warm-up): every client sends 2 msg/s (200 msg/s offered): round
  trip p50/p99 (sender's emit -> the other peer's `message` event) and server CPU per delivered
  message;
- saturate phase: every client keeps 2 messages awaiting their ack: throughput (messages
  delivered to the other peer per second).
Redis connections per server process are read with CLIENT LIST (peak during the phases).

Environment: BENCH_ROOMS (50), BENCH_RATE (2 msg/s per client), BENCH_PHASE_SECONDS (6),
BENCH_WINDOW (2), BENCH_CLIENT_PROCS (2), BENCH_RELAY_STACKS (comma list of the stack keys
below; default holo2,holo1,node2,node2-relay).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from bench._harness import log, machine, start_stack, table, write_results
from bench._load import Load, make_rooms

# key: (label, kind, servers, with redis, node: same Redis work as the app, holo: with the tutor)
STACKS: dict[str, tuple[str, str, int, bool, bool, bool]] = {
    "holo2": ("holo-tutor, 2 replicas + Redis (tutor off)", "holo", 2, True, True, False),
    "holo1": ("holo-tutor, 1 embedded process (tutor off)", "holo", 1, False, True, False),
    "node2": (
        "node socket.io, 2 procs + redis-adapter, same Redis work",
        "node",
        2,
        True,
        True,
        False,
    ),
    "node2-relay": (
        "node socket.io, 2 procs + redis-adapter, relay only",
        "node",
        2,
        True,
        False,
        False,
    ),
    "holo2-tutor": (
        "holo-tutor, 2 replicas + Redis, as shipped (text tutor answers every message)",
        "holo",
        2,
        True,
        True,
        True,
    ),
}


DEFAULT_STACKS = ["holo2", "holo1", "node2", "node2-relay"]  # holo2-tutor: opt-in


def run_stack(key: str, rooms: int, rate: float, seconds: float, window: int) -> dict[str, Any]:
    label, kind, n, with_redis, store, tutor = STACKS[key]
    log(f"[{key}] starting {label}")
    stack = start_stack(kind, n, redis=with_redis, store=store, tutor=tutor, prefix="relay-")
    load = None
    try:
        specs = asyncio.run(make_rooms(stack, rooms))
        load = Load(stack, specs)
        t0 = time.monotonic()
        load.connect()
        log(f"[{key}] {2 * rooms} clients connected and joined in {time.monotonic() - t0:.1f}s")
        idle_conns = stack.redis_clients()
        load.phase(
            "fixed", phase="w", rate=rate, duration=min(3.0, seconds)
        )  # warm-up (JITs, pools)
        fixed = load.phase("fixed", phase="f", rate=rate, duration=seconds)
        log(
            f"[{key}] fixed {rate * 2 * rooms:.0f} msg/s: "
            f"delivered {fixed['delivered']}/{fixed['sent']}, "
            f"p50 {fixed['rtt_p50_ms']:.1f} ms p99 {fixed['rtt_p99_ms']:.1f} ms, "
            f"server {fixed['server_cpu_us_per_msg']:.0f} us/msg"
        )
        sat = load.phase("saturate", phase="s", window=window, duration=seconds)
        log(
            f"[{key}] saturate: delivered {sat['throughput_msg_s']:.0f} msg/s "
            f"(acked {sat['acked_msg_s']:.0f}/s), p50 {sat['rtt_p50_ms']:.1f} ms, "
            f"server {sat['server_cpu_us_per_msg']:.0f} us/msg, "
            f"client cores {', '.join(f'{u:.2f}' for u in sat['client_core_util'])}"
        )
        return {
            "label": label,
            "servers": n,
            "redis": with_redis,
            "redis_clients_idle": dict(idle_conns),
            "fixed": fixed,
            "saturate": sat,
            "server_log_digest": stack.log_digest(),
        }
    finally:
        if load is not None:
            load.close()
        stack.close()


def _conns(res: dict[str, Any]) -> str:
    if not res["redis"]:
        return "-"
    peak = [
        max(res["fixed"]["redis_conns_max"][k], res["saturate"]["redis_conns_max"][k])
        for k in res["fixed"]["redis_conns_max"]
    ]
    return "/".join(str(c) for c in peak)


def report(results: dict[str, dict[str, Any]]) -> str:
    rows = []
    for key, r in results.items():
        f, s = r["fixed"], r["saturate"]
        rows.append(
            [
                key,
                s["throughput_msg_s"],
                s["acked_msg_s"],
                f["rtt_p50_ms"],
                f["rtt_p99_ms"],
                s["rtt_p50_ms"],
                s["rtt_p99_ms"],
                f["server_cpu_us_per_msg"],
                s["server_cpu_us_per_msg"],
                f["redis_cpu_us_per_msg"],
                _conns(r),
                max(s["client_core_util"]),
                sum(f["errors"].values())
                + sum(s["errors"].values())
                + (f["sent"] - f["delivered"]),
            ]
        )
    out = [
        table(
            [
                "stack",
                "deliv/s",
                "acked/s",
                "p50 ms",
                "p99 ms",
                "sat p50",
                "sat p99",
                "cpu us/msg",
                "sat cpu us/msg",
                "redis us/msg",
                "redis conns",
                "client core",
                "lost/err",
            ],
            rows,
        )
    ]
    out.append(
        "deliv/s: messages the other peer received while the saturating load ran; acked/s: sends "
        "acknowledged in that time.\np50/p99 (ms, sender -> other peer) and 'cpu us/msg' at the "
        "fixed offered load; 'sat' = during the saturating load.\ncpu = server processes only "
        "(Redis separately), per delivered message; redis conns = peak per server process; "
        "client core = busiest client process (1.0 = one core: client-bound)."
    )
    if "holo2" in results:
        base = results["holo2"]
        ratio_rows = []
        for key, r in results.items():
            if key == "holo2":
                continue
            ratio_rows.append(
                [
                    f"holo2 vs {key}",
                    base["saturate"]["throughput_msg_s"] / r["saturate"]["throughput_msg_s"],
                    base["fixed"]["rtt_p50_ms"] / r["fixed"]["rtt_p50_ms"],
                    base["fixed"]["rtt_p99_ms"] / r["fixed"]["rtt_p99_ms"],
                    base["fixed"]["server_cpu_us_per_msg"] / r["fixed"]["server_cpu_us_per_msg"],
                    base["saturate"]["server_cpu_us_per_msg"]
                    / r["saturate"]["server_cpu_us_per_msg"],
                ]
            )
        out.append("")
        out.append(
            "ratios, same run (holo2 / other): throughput > 1 = we are faster; "
            "the others > 1 = we are slower or cost more"
        )
        out.append(table(["", "throughput", "p50", "p99", "cpu/msg", "sat cpu/msg"], ratio_rows))
    return "\n".join(out)


def main() -> None:
    rooms = int(os.environ.get("BENCH_ROOMS", "50"))
    rate = float(os.environ.get("BENCH_RATE", "2"))
    seconds = float(os.environ.get("BENCH_PHASE_SECONDS", "6"))
    window = int(os.environ.get("BENCH_WINDOW", "2"))
    keys = os.environ.get("BENCH_RELAY_STACKS", ",".join(DEFAULT_STACKS)).split(",")
    log(
        f"realtime_relay: {rooms} rooms x 2 clients, fixed {rate} msg/s per client, "
        f"saturate window {window}, {seconds:.0f}s phases, stacks {', '.join(keys)}"
    )
    results: dict[str, dict[str, Any]] = {}
    for key in keys:
        results[key] = run_stack(key.strip(), rooms, rate, seconds, window)
    text = report(results)
    print()
    print(text, flush=True)
    write_results(
        "realtime_relay",
        {
            "machine": machine(),
            "params": {
                "rooms": rooms,
                "rate_per_client": rate,
                "phase_seconds": seconds,
                "window": window,
                "client_procs": os.environ.get("BENCH_CLIENT_PROCS", "2"),
            },
            "results": results,
            "table": text,
        },
    )


if __name__ == "__main__":
    main()
