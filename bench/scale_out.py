"""Scale-out: server CPU per delivered message with 2, 4 and 8 replicas under the same load.

With one shared channel every replica receives every message, even those for rooms it holds no
client of, and the total CPU per message grows with the replica count. The app publishes a
room's events on the room's sharded channel, which only the replicas with a client in the room
subscribe to. Measured beside Node's socket.io with @socket.io/redis-adapter (``node``: one
channel, every subscriber receives every message) and with its sharded adapter in dynamic mode
(``node-sharded``: a channel per room, like ours).

Another run per round puts the same clients on 2 of the largest count of servers (8): the
servers without clients ("bystanders") show directly what other rooms' traffic costs a replica
per message, and its total against 2 replicas what the replicas' number itself costs (their
idle loops, the channel) apart from spreading the same clients over more processes, each then
woken less often.

Load: the relay bench's fixed phase (50 rooms x 2 clients, the two clients of a room on different
replicas), at 1 msg/s per client (100 msg/s offered) so that 8 replicas stay below capacity on a
2-core machine, after a short warm-up. The tutor is off (as in realtime_relay's holo rows).

Each replica count (and the run with the clients on 2) is measured BENCH_SCALE_ROUNDS times
(2), the counts in turn ascending then descending, and the figure is the mean: on a shared
2-core machine a run's figure moves by a fifth with the order the stacks start in, more than
the replica count moves it.

Environment: BENCH_ROOMS (50), BENCH_RATE (1), BENCH_PHASE_SECONDS (6), BENCH_SCALE_STACKS
(holo,node,node-sharded; also holo-tutor: with the AI tutor on), BENCH_SCALE_REPLICAS (2,4,8),
BENCH_SCALE_ROUNDS (2), BENCH_CLIENT_PROCS (2).
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
    # holo-tutor: holo as shipped, every learner message also queuing a reply from the
    # (offline) AI tutor, whose control stream every replica reads.
    holo = kind.startswith("holo")
    stack = start_stack(
        "holo" if holo else kind, replicas, tutor=kind == "holo-tutor", prefix="scale-"
    )
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
    # 1 msg/s per client: 8 replicas, the clients and Redis must fit on 2 shared cores.
    rate = float(os.environ.get("BENCH_RATE", "1"))
    seconds = float(os.environ.get("BENCH_PHASE_SECONDS", "6"))
    kinds = [
        k.strip() for k in os.environ.get("BENCH_SCALE_STACKS", "holo,node,node-sharded").split(",")
    ]
    counts = [int(n) for n in os.environ.get("BENCH_SCALE_REPLICAS", "2,4,8").split(",")]
    rounds = int(os.environ.get("BENCH_SCALE_ROUNDS", "2"))
    lo, hi = min(counts), max(counts)
    on = f"2+{hi - 2}"  # the clients on 2 servers, none on the others
    log(
        f"scale_out: {rooms} rooms x 2 clients, {rate * 2 * rooms:.0f} msg/s offered, "
        f"{seconds:.0f}s, {', '.join(map(str, counts))} and {on} (bystanders) servers of: "
        f"{', '.join(kinds)}, {rounds} rounds"
    )
    results: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        order = [*map(str, counts), on]
        runs: dict[str, list[dict[str, Any]]] = {n: [] for n in order}
        for r in range(rounds):
            for n in order if r % 2 == 0 else order[::-1]:
                runs[n].append(
                    run(kind, hi, rooms, rate, seconds, on=2)
                    if n == on
                    else run(kind, int(n), rooms, rate, seconds)
                )
        for n, measured in runs.items():
            results[f"{kind}{n}"] = _mean(measured)
    rows = []
    for kind in kinds:
        by = results[f"{kind}{on}"]
        per_msg = [results[f"{kind}{n}"]["server_cpu_us_per_msg"] for n in counts]
        # What a replica with no client in the rooms spends on the traffic of rooms that are
        # not its own, against each of the two that hold the clients.
        delivered = max(by["delivered"], 1)
        per_run = [r["per_replica_cpu_s"] for r in by["runs"]]
        per_replica = [sum(cpu) for cpu in zip(*per_run, strict=True)]
        active = sum(per_replica[:2]) / 2 / delivered * 1e6
        bystander = sum(per_replica[2:]) / (hi - 2) / delivered * 1e6
        by["active_cpu_us_per_msg"] = active
        by["bystander_cpu_us_per_msg"] = bystander
        rows.append(
            [
                kind,
                *per_msg,
                per_msg[-1] / per_msg[0],
                by["server_cpu_us_per_msg"] / per_msg[0],
                active,
                bystander,
                bystander / active,
                sum(
                    results[f"{kind}{n}"]["sent"] - results[f"{kind}{n}"]["delivered"]
                    for n in counts
                ),
            ]
        )
    text = "\n".join(
        [
            table(
                [
                    "stack",
                    *(f"{n} repl us/msg" for n in counts),
                    f"{hi}/{lo}",
                    f"{hi} (clients on 2)/{lo}",
                    "active us/msg",
                    "bystander us/msg",
                    "bystander/active",
                    "lost",
                ],
                rows,
            ),
            "us/msg: CPU of all server processes per delivered message at the same offered load "
            f"({rate * 2 * rooms:.0f} msg/s); {hi}/{lo}: how the total grows with the replica "
            f"count; {hi} (clients on 2)/{lo}: the same with the clients on 2 of the {hi} "
            "servers (what the replicas' number costs, apart from spreading the clients); "
            "active / bystander: CPU per message of each of the 2 servers that hold the "
            f"clients and of each of the {hi - 2} that hold none in that run.",
        ]
    )
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


def _mean(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The runs of one replica count as one: their counts summed, CPU per message over all of
    them; each run's own figures kept under ``runs``."""
    sent = sum(r["sent"] for r in runs)
    delivered = sum(r["delivered"] for r in runs)
    cpu_us = sum(r["server_cpu_us_per_msg"] * r["delivered"] for r in runs)
    return {
        "sent": sent,
        "delivered": delivered,
        "server_cpu_us_per_msg": cpu_us / delivered if delivered else float("nan"),
        "runs": runs,
    }


if __name__ == "__main__":
    main()
