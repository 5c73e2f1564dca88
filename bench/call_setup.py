"""Call set-up time in the browser: both peers joined → first remote video frame decoded.

Two holo-tutor replicas on one real Redis serve the built web app; Debian's Chromium (fake camera
and microphone) opens the room as the learner on replica A and as the invitee on
replica B, ten calls in a row, each with fresh browser contexts. Measured in the pages:

- joined: the later of the two pages' peer-connection creation; the app creates it the moment
  the join is acknowledged (invitee) or the peer-joined event arrives (learner);
- first frame: getStats() polled every 10 ms until inbound-rtp video framesDecoded > 0.

Reported: p50/p95 of "both sides see video" (the later first frame - joined) and of "first
frame on either side". Variants: loopback P2P (host candidates), and through a coturn relay on
loopback (the pages are forced to iceTransportPolicy "relay"; the app's /api/ice-servers hands
out TURN REST credentials as in production), when coturn is installed.

    .venv/bin/python -m bench call_setup        # or: .venv/bin/python bench/call_setup.py
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import redis

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

from playwright.async_api import Browser, Page, async_playwright  # noqa: E402

from app.store import keys  # noqa: E402
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.servers import RedisServer, Replica, wait_until  # noqa: E402

CALLS = 10
RESULTS = ROOT / "bench" / "results"
REPLICA_ENV = {
    "HOLO_RATE_LIMIT_PER_MINUTE": "1000000",
    "HOLO_SOCKET_EVENTS_PER_SECOND": "10000",
    "HOLO_SOCKET_EVENT_BURST": "10000",
    "HOLO_SOCKET_CONNECTIONS_PER_IP": "10000",
    "HOLO_HEARTBEAT_INTERVAL_SECONDS": "1",
    "HOLO_HEARTBEAT_TTL_SECONDS": "3",
    "HOLO_DRAIN_SECONDS": "0",
    "HOLO_STUN_URLS": "",
    "HOLO_TTS_PROVIDER": "none",
    "HOLO_LOG_LEVEL": "WARNING",
}
TURN_REALM = "bench.holotutor.local"

# Before the app's scripts: record when the page's peer connection is made and when its first
# remote video frame is decoded. RELAY forces relay-only ICE (the TURN variant).
PAGE_PROBE = """
(() => {
  const RELAY = %s;
  const Native = window.RTCPeerConnection;
  window.__probe = { created: null, firstFrame: null, localType: null };
  window.RTCPeerConnection = class extends Native {
    constructor(config = {}) {
      super(RELAY ? { ...config, iceTransportPolicy: "relay" } : config);
      if (window.__probe.created === null) window.__probe.created = Date.now();
      const pc = this;
      (window.__pcs = window.__pcs || []).push(pc);
      const timer = setInterval(async () => {
        if (pc.connectionState === "closed") return clearInterval(timer);
        const stats = await pc.getStats();
        stats.forEach((r) => {
          if (r.type === "inbound-rtp" && r.kind === "video" && r.framesDecoded > 0 &&
              window.__probe.firstFrame === null) {
            window.__probe.firstFrame = Date.now();
            stats.forEach((t) => {
              const pair = t.type === "transport" && stats.get(t.selectedCandidatePairId);
              if (pair) window.__probe.localType = stats.get(pair.localCandidateId)?.candidateType;
            });
          }
        });
        if (window.__probe.firstFrame !== null) clearInterval(timer);
      }, 10);
    }
    setConfiguration(config) {
      return super.setConfiguration(RELAY ? { ...config, iceTransportPolicy: "relay" } : config);
    }
  };
})();
"""


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_frontend() -> None:
    if (ROOT / "frontend" / "dist" / "index.html").is_file():
        return
    if shutil.which("npm") is None:
        raise SystemExit(
            "call_setup: frontend/dist is not built and npm is missing (make frontend)"
        )
    npm = ["npm", "--prefix", str(ROOT / "frontend")]
    if not (ROOT / "frontend" / "node_modules").is_dir():
        subprocess.run([*npm, "ci", "--no-audit", "--no-fund"], check=True)
    subprocess.run([*npm, "run", "build"], check=True)


def start_coturn(stack: ExitStack, secret: str) -> int:
    """coturn on loopback with a static TURN REST secret (the operator's Redis set is not needed
    to measure a relayed call)."""
    port = free_port(socket.SOCK_DGRAM)
    relay_min = 49152 + secrets.randbelow(10000)
    workdir = Path(tempfile.mkdtemp(prefix="holo-bench-coturn-"))
    stack.callback(shutil.rmtree, workdir, ignore_errors=True)
    conf = workdir / "turnserver.conf"
    conf.write_text(
        "\n".join(
            [
                f"listening-port={port}",
                "listening-ip=127.0.0.1",
                "relay-ip=127.0.0.1",
                f"min-port={relay_min}",
                f"max-port={relay_min + 200}",
                "use-auth-secret",
                f"static-auth-secret={secret}",
                f"realm={TURN_REALM}",
                "allow-loopback-peers",
                "allowed-peer-ip=127.0.0.1",
                "no-cli",
                "no-tls",
                "no-dtls",
                "fingerprint",
                "verbose",  # logs "UDP listener opened", which we wait for
                f"userdb={workdir / 'turndb'}",
                f"pidfile={workdir / 'turnserver.pid'}",
                "",
            ]
        )
    )
    log = workdir / "coturn.log"
    out = log.open("wb")
    proc = subprocess.Popen(
        ["turnserver", "-c", str(conf), "--log-file", "stdout"],
        stdout=out,
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        out.close()

    stack.callback(stop)
    wait_until(
        lambda: (
            proc.poll() is not None or "UDP listener opened on" in log.read_text(errors="replace")
        ),
        10,
        "coturn to listen",
    )
    if proc.poll() is not None:
        raise RuntimeError(f"coturn exited: {log.read_text(errors='replace')}")
    return port


async def guest(http: httpx.AsyncClient, base_url: str, name: str) -> dict[str, Any]:
    r = await http.post(f"{base_url}/api/auth/guest", json={"display_name": name})
    r.raise_for_status()
    identity: dict[str, Any] = r.json()
    return identity


def identity_script(identity: dict[str, Any]) -> str:
    return f"localStorage.setItem('holo.identity', {json.dumps(json.dumps(identity))});"


def record_console(page: Page, into: list[str], who: str) -> None:
    page.on("console", lambda m: into.append(f"[{who}] {m.type}: {m.text}"))


async def one_call(browser: Browser, a: Replica, b: Replica, relay: bool) -> dict[str, float]:
    async with httpx.AsyncClient(timeout=10) as http:
        return await _one_call(http, browser, a, b, relay)


async def _one_call(
    http: httpx.AsyncClient, browser: Browser, a: Replica, b: Replica, relay: bool
) -> dict[str, float]:
    learner_id = await guest(http, a.url, "Learner")
    invitee_id = await guest(http, b.url, "Invitee")
    auth = {"Authorization": f"Bearer {learner_id['token']}"}
    r = await http.post(f"{a.url}/api/rooms", json={"companion_id": "ada-math"}, headers=auth)
    r.raise_for_status()
    room = r.json()
    probe = PAGE_PROBE % ("true" if relay else "false")
    pages = []
    contexts = []
    console: list[str] = []
    try:
        for replica, identity in ((a, learner_id), (b, invitee_id)):
            ctx = await browser.new_context(
                base_url=replica.url, permissions=["camera", "microphone"]
            )
            contexts.append(ctx)
            await ctx.add_init_script(identity_script(identity) + probe)
            page = await ctx.new_page()
            record_console(page, console, replica.url)
            pages.append(page)
        learner, invitee = pages
        await learner.goto(f"/rooms/{room['room_id']}")
        await learner.wait_for_selector("[data-state=waiting]", timeout=20_000)
        await invitee.goto(f"/rooms/{room['room_id']}?invite={room['invite_token']}")
        for page in pages:
            try:
                await page.wait_for_function(
                    # A function: an expression string is eval'd in the page, which the app's
                    # Content-Security-Policy forbids.
                    "() => window.__probe.firstFrame !== null",
                    polling=50,
                    timeout=30_000,
                )
            except Exception:
                for p in pages:
                    state = await p.evaluate(
                        "({probe: window.__probe, call: document.querySelector('[data-state]')"
                        "?.dataset.state, url: location.href, pcs: (window.__pcs || []).map("
                        "(pc) => [pc.signalingState, pc.iceGatheringState, pc.iceConnectionState,"
                        " pc.connectionState, pc.localDescription?.type,"
                        " pc.remoteDescription?.type])})"
                    )
                    print(f"call_setup: no video after 30 s: {state}", file=sys.stderr)
                print("\n".join(console), file=sys.stderr)
                raise
        a_probe = await learner.evaluate("window.__probe")
        b_probe = await invitee.evaluate("window.__probe")
    finally:
        for ctx in contexts:
            await ctx.close()
        await http.delete(f"{a.url}/api/rooms/{room['room_id']}", headers=auth)
    want = "relay" if relay else "host"
    for probe_result in (a_probe, b_probe):
        if probe_result["localType"] != want:
            raise RuntimeError(f"expected a {want} candidate pair, got {probe_result}")
    joined = max(a_probe["created"], b_probe["created"])
    return {
        "both_ms": max(a_probe["firstFrame"], b_probe["firstFrame"]) - joined,
        "first_ms": min(a_probe["firstFrame"], b_probe["firstFrame"]) - joined,
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def measure(a: Replica, b: Replica, relay: bool, calls: int) -> list[dict[str, float]]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # One call to warm up (first page load, codec start-up); not counted.
            await one_call(browser, a, b, relay)
            return [await one_call(browser, a, b, relay) for _ in range(calls)]
        finally:
            await browser.close()


def summarize(name: str, samples: list[dict[str, float]]) -> dict[str, Any]:
    both = [s["both_ms"] for s in samples]
    first = [s["first_ms"] for s in samples]
    row = {
        "variant": name,
        "calls": len(samples),
        "both_p50_ms": round(percentile(both, 0.5)),
        "both_p95_ms": round(percentile(both, 0.95)),
        "first_p50_ms": round(percentile(first, 0.5)),
        "first_p95_ms": round(percentile(first, 0.95)),
        "both_mean_ms": round(statistics.fmean(both)),
        "samples_both_ms": [round(x) for x in both],
    }
    print(
        f"{name:<12} calls={row['calls']:<3} both sides decoding: p50 {row['both_p50_ms']} ms, "
        f"p95 {row['both_p95_ms']} ms | first side: p50 {row['first_p50_ms']} ms, "
        f"p95 {row['first_p95_ms']} ms",
        flush=True,
    )
    return row


def main() -> None:
    ensure_frontend()
    rows = []
    with ExitStack() as stack:
        store = RedisServer().start()
        stack.callback(store.cleanup)
        env = {**REPLICA_ENV, "HOLO_REDIS_URL": store.url}
        turn_secret = secrets.token_hex(16)
        have_coturn = shutil.which("turnserver") is not None
        if have_coturn:
            turn_port = start_coturn(stack, turn_secret)
            env.update(
                HOLO_TURN_URLS=f"turn:127.0.0.1:{turn_port}?transport=udp",
                HOLO_TURN_REALM=TURN_REALM,
                HOLO_TURN_CREDENTIAL_TTL="600",
            )
            # What the operator keeps for the app: the current TURN REST secret.
            r = redis.Redis.from_url(store.url)
            r.hset(
                keys.turn_current_secret(TURN_REALM),
                mapping={"id": "bench", "secret": turn_secret, "created_at": str(time.time())},
            )
            r.close()
        replicas = []
        for name in ("bench-call-a", "bench-call-b"):
            replica = Replica(name=name, env=env).start()
            stack.callback(replica.stop)
            replicas.append(replica)
        a, b = replicas
        print(
            f"call set-up, {CALLS} calls each; learner on {a.url}, invitee on {b.url}", flush=True
        )
        rows.append(summarize("p2p", asyncio.run(measure(a, b, relay=False, calls=CALLS))))
        if have_coturn:
            rows.append(
                summarize("turn-relay", asyncio.run(measure(a, b, relay=True, calls=CALLS)))
            )
        else:
            print("turn-relay   skipped: coturn (turnserver) is not installed", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "call_setup.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
