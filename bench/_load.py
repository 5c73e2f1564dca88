"""The chat load: rooms of two python-socketio AsyncClients (websocket transport), one client on
each of two different servers, sending small `message` events to each other.

The clients live in worker processes (``BENCH_CLIENT_PROCS``, default 2) so that the client side
is less likely to be the bottleneck; both clients of a room are in the same worker, so a round
trip (sender's emit -> the other peer's `message` event) is timed on one clock. Workers report
their own CPU time so a saturated client side shows in the results.

Phases:
- ``fixed``: open loop, every client sends at a fixed rate; round trip p50/p99 and server CPU
  per delivered message at the same offered load for every server stack.
- ``saturate``: closed loop, every client keeps ``window`` messages awaiting their ack;
  throughput = messages delivered to the other peer per second.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from bench._harness import (
    Stack,
    log,
    percentile,
    profile_summary,
    pubsub_backlog,
    replica_connections,
    start_profile,
)

TEXT_PAD = "hello from the bench"  # ~40-byte texts: "small messages"


@dataclass
class RoomSpec:
    room_id: str
    invite_token: str
    a_url: str
    a_token: str
    b_url: str
    b_token: str


async def make_rooms(stack: Stack, n_rooms: int, on: int | None = None) -> list[RoomSpec]:
    """Rooms whose two clients sit on different servers (room i: servers 2i and 2i+1 modulo
    the server count; a single server holds both). ``on``: use only the first ``on`` servers
    (the others hold no client: bystanders)."""
    urls = [p.url for p in stack.servers[:on]]
    n = len(urls)
    places = [(urls[(2 * i) % n], urls[(2 * i + 1) % n]) for i in range(n_rooms)]
    if stack.kind.startswith("node"):
        return [
            RoomSpec(f"bench-{i}", "", a, f"tok-a-{i}", b, f"tok-b-{i}")
            for i, (a, b) in enumerate(places)
        ]
    async with httpx.AsyncClient(timeout=30) as http:
        sem = asyncio.Semaphore(16)

        async def guest(url: str, name: str) -> str:
            async with sem:
                r = await http.post(f"{url}/api/auth/guest", json={"display_name": name})
            r.raise_for_status()
            return str(r.json()["token"])

        async def room(i: int, a: str, b: str) -> RoomSpec:
            ta, tb = await asyncio.gather(guest(a, f"a{i}"), guest(b, f"b{i}"))
            async with sem:
                r = await http.post(
                    f"{a}/api/rooms",
                    json={"companion_id": "ada-math"},
                    headers={"Authorization": f"Bearer {ta}"},
                )
            r.raise_for_status()
            body = r.json()
            return RoomSpec(body["room_id"], body["invite_token"], a, ta, b, tb)

        return list(await asyncio.gather(*(room(i, a, b) for i, (a, b) in enumerate(places))))


# -- the worker process -------------------------------------------------------------------


class _Stats:
    def __init__(self) -> None:
        self.phase = ""
        self.window: tuple[float, float] = (0.0, 0.0)  # monotonic seconds
        self.sent = 0
        self.acked = 0
        self.errors: Counter[str] = Counter()
        self.delivered = 0
        self.in_window = 0
        self.rtt_ms: list[float] = []
        self.ack_ms: list[float] = []
        self.timeline: Counter[int] = Counter()  # deliveries per 0.5 s since the phase start

    def reset(self, phase: str) -> None:
        self.__init__()  # type: ignore[misc]
        self.phase = phase


class _Client:
    def __init__(self, url: str, token: str, room: RoomSpec, tag: str, stats: _Stats) -> None:
        import socketio

        self.url, self.token, self.room, self.tag, self.stats = url, token, room, tag, stats
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("message", self._on_message)
        self.n = 0

    async def _on_message(self, data: Any) -> None:
        now = time.monotonic_ns()
        st = self.stats
        try:
            phase, t_ns, _ = str(data["text"]).split(" ", 2)
        except (KeyError, TypeError, ValueError):
            return
        if phase != st.phase:
            return
        st.delivered += 1
        st.timeline[int((now / 1e9 - st.window[0]) * 2)] += 1
        if st.window[0] <= now / 1e9 <= st.window[1]:
            st.in_window += 1
        st.rtt_ms.append((now - int(t_ns)) / 1e6)

    async def connect(self) -> None:
        await self.sio.connect(
            self.url, auth={"token": self.token}, transports=["websocket"], wait_timeout=20
        )
        ack = await self.sio.call(
            "join",
            {"room_id": self.room.room_id, "invite_token": self.room.invite_token or None},
            timeout=20,
        )
        if not ack.get("ok"):
            raise RuntimeError(f"join refused: {ack}")

    def _payload(self) -> dict[str, Any]:
        self.n += 1
        st = self.stats
        return {
            "room_id": self.room.room_id,
            "text": f"{st.phase} {time.monotonic_ns()} {TEXT_PAD}",
            "client_id": f"{st.phase}.{self.tag}.{self.n}",
        }

    def _on_ack(self, ack: Any = None) -> None:
        if isinstance(ack, dict) and ack.get("ok"):
            self.stats.acked += 1
        else:
            code = ack.get("error", {}).get("code", "?") if isinstance(ack, dict) else "no-ack"
            self.stats.errors[str(code)] += 1

    async def run_fixed(self, rate: float, end: float) -> None:
        interval = 1.0 / rate
        loop = asyncio.get_running_loop()
        t = loop.time() + random.uniform(0, interval)
        while t < end:
            await asyncio.sleep(max(0.0, t - loop.time()))
            self.stats.sent += 1
            await self.sio.emit("message", self._payload(), callback=self._on_ack)
            t += interval

    async def run_closed(self, window: int, end: float) -> None:
        loop = asyncio.get_running_loop()

        async def lane() -> None:
            while loop.time() < end:
                self.stats.sent += 1
                t0 = time.monotonic()
                try:
                    ack = await self.sio.call("message", self._payload(), timeout=30)
                    self.stats.ack_ms.append((time.monotonic() - t0) * 1e3)
                except Exception as exc:  # a timeout: counted, and the lane goes on
                    self.stats.errors[type(exc).__name__] += 1
                    continue
                self._on_ack(ack)

        await asyncio.gather(*(lane() for _ in range(window)))


async def _connect_all(clients: list[_Client]) -> None:
    sem = asyncio.Semaphore(20)

    async def one(c: _Client) -> None:
        async with sem:
            await c.connect()

    # A room's first client joins first (it created the room; the invite is for the second).
    await asyncio.gather(*(one(c) for c in clients[0::2]))
    await asyncio.gather(*(one(c) for c in clients[1::2]))


async def _worker_main(conn: Any, rooms: list[RoomSpec], wid: int) -> None:
    loop = asyncio.get_running_loop()
    stats = _Stats()
    clients: list[_Client] = []
    for r in rooms:
        clients.append(_Client(r.a_url, r.a_token, r, f"w{wid}a{len(clients)}", stats))
        clients.append(_Client(r.b_url, r.b_token, r, f"w{wid}b{len(clients)}", stats))
    while True:
        cmd, arg = await loop.run_in_executor(None, conn.recv)
        try:
            if cmd == "connect":
                await _connect_all(clients)

                conn.send(("ok", {"clients": len(clients)}))
            elif cmd in ("fixed", "saturate"):
                stats.reset(arg["phase"])
                cpu0, t0 = time.process_time(), time.monotonic()
                start = loop.time()
                end = start + arg["duration"]
                stats.window = (time.monotonic(), time.monotonic() + arg["duration"])
                if cmd == "fixed":
                    await asyncio.gather(*(c.run_fixed(arg["rate"], end) for c in clients))
                else:
                    await asyncio.gather(*(c.run_closed(arg["window"], end) for c in clients))
                # Drain: wait for the deliveries and acks still in flight.
                for _ in range(int(arg.get("drain", 5.0) / 0.05)):
                    if (
                        stats.delivered >= stats.sent
                        and stats.acked + sum(stats.errors.values()) >= stats.sent
                    ):
                        break
                    await asyncio.sleep(0.05)
                res = {
                    "sent": stats.sent,
                    "acked": stats.acked,
                    "errors": dict(stats.errors),
                    "delivered": stats.delivered,
                    "in_window": stats.in_window,
                    "rtt_ms": stats.rtt_ms,
                    "ack_ms": stats.ack_ms,
                    "timeline": dict(stats.timeline),
                    "cpu_s": time.process_time() - cpu0,
                    "wall_s": time.monotonic() - t0,
                }
                stats.reset("")
                conn.send(("ok", res))
            elif cmd == "close":
                await asyncio.gather(*(c.sio.disconnect() for c in clients), return_exceptions=True)
                conn.send(("ok", None))
                return
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
            if cmd == "connect":
                return


def _worker(conn: Any, rooms: list[dict[str, str]], wid: int) -> None:
    try:
        import uvloop  # the client side as fast as it gets

        runner: Callable[[Coroutine[Any, Any, None]], None] = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    runner(_worker_main(conn, [RoomSpec(**r) for r in rooms], wid))


# -- the orchestrator ---------------------------------------------------------------------


class Load:
    """Worker processes holding the clients of ``rooms``; phases run on all workers at once
    while the server CPU and Redis connections are sampled here."""

    def __init__(self, stack: Stack, rooms: list[RoomSpec], procs: int | None = None) -> None:
        self.stack = stack
        procs = procs or int(os.environ.get("BENCH_CLIENT_PROCS", "2"))
        procs = max(1, min(procs, len(rooms)))
        ctx = mp.get_context("spawn")
        self.workers: list[tuple[Any, Any]] = []
        for w in range(procs):
            parent, child = ctx.Pipe()
            part = [asdict(r) for r in rooms[w::procs]]
            p = ctx.Process(target=_worker, args=(child, part, w), daemon=True)
            p.start()
            self.workers.append((p, parent))

    def _all(self, cmd: str, arg: Any = None, timeout: float = 120) -> list[Any]:
        for _, conn in self.workers:
            conn.send((cmd, arg))
        out = []
        for p, conn in self.workers:
            if not conn.poll(timeout):
                raise TimeoutError(f"client worker {p.pid}: no answer to {cmd} in {timeout}s")
            status, res = conn.recv()
            if status != "ok":
                raise RuntimeError(f"client worker {p.pid}: {cmd} failed: {res}")
            out.append(res)
        return out

    def connect(self) -> None:
        self._all("connect")

    def phase(self, cmd: str, **arg: Any) -> dict[str, Any]:
        stack = self.stack
        samples: list[dict[str, int]] = []
        backlog: list[int] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                try:
                    clients = stack.client_list()
                    samples.append(replica_connections(stack, stack.redis_clients(clients)))
                    backlog.append(pubsub_backlog(clients))
                except Exception:
                    pass
                stop.wait(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        profile = None
        if os.environ.get("BENCH_PYSPY") and cmd == "saturate" and stack.kind == "holo":
            # The first server, saturated: what the realtime core spends its CPU on.
            profile = start_profile(stack.servers[0], arg["duration"], f"{arg.get('phase')}")
        cpu0, rcpu0, t0 = stack.server_cpu(), stack.redis_cpu(), time.monotonic()
        try:
            results = self._all(cmd, arg, timeout=arg["duration"] + 60)
        finally:
            stop.set()
            sampler.join()
            if profile is not None:
                profile[0].wait(30)
                log(f"py-spy profile of {stack.servers[0].name} ({profile[1]}):")
                print(profile_summary(profile[1]), flush=True)
        wall = time.monotonic() - t0
        cpu, rcpu = stack.server_cpu() - cpu0, stack.redis_cpu() - rcpu0
        stack.check_alive()
        refused = sum(sum(r["errors"].values()) for r in results)
        undelivered = sum(r["sent"] - r["delivered"] for r in results)
        if refused or undelivered:
            codes: Counter[str] = Counter()
            for r in results:
                codes.update(r["errors"])
            log(
                f"WARNING {arg.get('phase')}: {refused} sends refused {dict(codes)}, "
                f"{undelivered} not delivered; server logs say: {stack.log_digest() or 'nothing'}"
            )
        rtt = [x for r in results for x in r["rtt_ms"]]
        ack = [x for r in results for x in r["ack_ms"]]
        timeline: Counter[int] = Counter()
        for r in results:
            timeline.update({int(k): v for k, v in r["timeline"].items()})
        delivered = sum(r["delivered"] for r in results)
        errors: Counter[str] = Counter()
        for r in results:
            errors.update(r["errors"])
        conns_max = {
            name: max((s.get(name, 0) for s in samples), default=0)
            for name in (p.name for p in stack.servers)
        }
        return {
            "phase": cmd,
            "params": arg,
            "sent": sum(r["sent"] for r in results),
            "acked": sum(r["acked"] for r in results),
            "errors": dict(errors),
            "delivered": delivered,
            # Delivered to the other peer while the load ran (what a receiver experiences) ...
            "throughput_msg_s": sum(r["in_window"] for r in results) / arg["duration"],
            # ... and acknowledged to the senders (the two differ when delivery falls behind).
            "acked_msg_s": sum(r["acked"] for r in results) / arg["duration"],
            "rtt_p50_ms": percentile(rtt, 0.50),
            "rtt_p99_ms": percentile(rtt, 0.99),
            "ack_p50_ms": percentile(ack, 0.50),
            "ack_p99_ms": percentile(ack, 0.99),
            "delivered_per_half_second": [
                timeline.get(i, 0) for i in range(max(timeline, default=-1) + 1)
            ],
            "server_cpu_s": cpu,
            "redis_cpu_s": rcpu,
            "server_cpu_us_per_msg": cpu / delivered * 1e6 if delivered else float("nan"),
            "redis_cpu_us_per_msg": rcpu / delivered * 1e6 if delivered else float("nan"),
            "server_cores_busy": cpu / wall,
            "client_cpu_s": [r["cpu_s"] for r in results],
            "client_core_util": [r["cpu_s"] / r["wall_s"] for r in results],
            "wall_s": wall,
            "redis_conns_max": conns_max,
            "pubsub_backlog_max_bytes": max(backlog, default=0),
        }

    def close(self) -> None:
        try:
            self._all("close", timeout=30)
        except Exception as exc:
            log(f"closing clients: {exc}")
        for p, _ in self.workers:
            p.join(5)
            if p.is_alive():
                p.kill()
