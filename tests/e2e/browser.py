"""Driving Debian's Chromium with Playwright for the web app: launch flags (fake media), a
hook that records every RTCPeerConnection a page makes, and getStats() reads over them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Page

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    # getDisplayMedia() picks a screen without a picker.
    "--auto-select-desktop-capture-source=Entire screen",
]

# Runs before the app's own scripts on every page: keeps a list of the page's peer connections
# (the app itself exposes nothing for tests) and reads their stats.
INIT_SCRIPT = """
(() => {
  // Every WebSocket the page opens (Socket.IO's), so that a test can cut the connection.
  const NativeWebSocket = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) { super(...args); window.__sockets.push(this); }
  };
  window.__dropSockets = () => window.__sockets.forEach((ws) => ws.close());
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.__rollbacks = 0;  // glare resolutions (the polite side's rollbacks), for debugging
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__pcs.push(this); }
    setLocalDescription(description) {
      if (description && description.type === "rollback") window.__rollbacks += 1;
      return description === undefined
        ? super.setLocalDescription()
        : super.setLocalDescription(description);
    }
  };
  const live = () => window.__pcs.filter((pc) => pc.connectionState !== "closed");
  window.__callStats = async () => {
    const out = { peers: 0, framesDecoded: 0, connected: 0, localType: null, remoteType: null,
                  sentVideoLabel: null };
    for (const pc of live()) {
      out.peers += 1;
      if (pc.connectionState === "connected") out.connected += 1;
      const sender = pc.getSenders().find((s) => s.track && s.track.kind === "video");
      if (sender) out.sentVideoLabel = sender.track.label;
      const stats = await pc.getStats();
      const byId = new Map();
      stats.forEach((r) => byId.set(r.id, r));
      stats.forEach((r) => {
        if (r.type === "inbound-rtp" && r.kind === "video") {
          out.framesDecoded += r.framesDecoded || 0;
        }
        if (r.type === "transport" && r.selectedCandidatePairId) {
          const pair = byId.get(r.selectedCandidatePairId);
          if (pair) {
            out.localType = byId.get(pair.localCandidateId)?.candidateType ?? null;
            out.remoteType = byId.get(pair.remoteCandidateId)?.candidateType ?? null;
          }
        }
      });
    }
    return out;
  };
})();
"""


async def call_stats(page: Page) -> dict[str, Any]:
    stats: dict[str, Any] = await page.evaluate("window.__callStats()")
    return stats


async def wait_frames(page: Page, more_than: int = 0, timeout_ms: int = 20_000) -> dict[str, Any]:
    """Wait (polling getStats on the page) until a live peer connection has decoded more than
    `more_than` remote video frames."""
    await page.wait_for_function(
        "async (n) => (await window.__callStats()).framesDecoded > n",
        arg=more_than,
        polling=100,
        timeout=timeout_ms,
    )
    return await call_stats(page)


NEW_CALL_DECODING = """
async (n) => {
  for (const pc of window.__pcs.slice(n)) {
    if (pc.connectionState === "closed") continue;
    let frames = 0;
    (await pc.getStats()).forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "video") frames += r.framesDecoded || 0;
    });
    if (frames > 0) return true;
  }
  return false;
}
"""


LIVE_UFRAGS = """
() => window.__pcs
  .filter((pc) => pc.connectionState !== "closed")
  .map((pc) => ({
    state: pc.signalingState,
    ufrag: /a=ice-ufrag:(\\S+)/.exec(pc.localDescription?.sdp ?? "")?.[1] ?? null,
  }))
"""


async def restart_ice(page: Page) -> list[dict[str, Any]]:
    """restartIce() on the page's live peer connections; returns their state before."""
    before: list[dict[str, Any]] = await page.evaluate(LIVE_UFRAGS)
    await page.evaluate(
        "window.__pcs.filter((pc) => pc.connectionState !== 'closed')"
        ".forEach((pc) => pc.restartIce())"
    )
    return before


async def wait_ice_restarted(page: Page, before: list[dict[str, Any]]) -> None:
    """Stable again, with new local ICE credentials."""
    old = [b["ufrag"] for b in before]
    await page.wait_for_function(
        f"(old) => {{ const now = ({LIVE_UFRAGS})(); return now.length === old.length && "
        "now.every((pc, i) => pc.state === 'stable' && pc.ufrag && pc.ufrag !== old[i]); }",
        arg=old,
        polling=100,
        timeout=20_000,
    )


async def peer_connection_count(page: Page) -> int:
    count: int = await page.evaluate("window.__pcs.length")
    return count


async def wait_new_call(page: Page, after: int, timeout_ms: int = 20_000) -> None:
    """Wait until a peer connection made after the first `after` ones decodes remote video:
    the call came back on a new connection, not on one that is about to close."""
    await page.wait_for_function(NEW_CALL_DECODING, arg=after, polling=100, timeout=timeout_ms)


async def sign_in(page: Page, name: str) -> None:
    """The first visit asks for a display name."""
    await page.get_by_label("Your name").fill(name)
    await page.get_by_role("button", name="Continue").click()


AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"


async def accessibility_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2 A/AA rules on the page as it is now (labels, names, contrast,
    landmarks...): the serious and critical violations, one line each."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, not added as a <script>: the app's
        # Content-Security-Policy (rightly) refuses inline scripts.
        await page.evaluate(AXE.read_text())
    result: list[str] = await page.evaluate(
        """async () => {
          const r = await axe.run(document, {
            runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21aa"] },
          });
          return r.violations
            .filter((v) => v.impact === "serious" || v.impact === "critical")
            .map((v) => {
              const where = v.nodes.map((n) => n.target.join(" ")).join(", ");
              return `${v.id}: ${v.help} (${where})`;
            });
        }"""
    )
    return result


async def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
