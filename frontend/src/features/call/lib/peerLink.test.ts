import { describe, expect, it, vi } from "vitest";
import { asPc, FakePeerConnection, settle } from "@/test/fakePeerConnection";
import { isPolite, PeerLink, type Signaling } from "./peerLink";

type Sent = { kind: "description" | "candidate"; to: string; body: unknown };

function makeLink(polite: boolean, extra: Partial<ConstructorParameters<typeof PeerLink>[0]> = {}) {
  const sent: Sent[] = [];
  const signaling: Signaling = {
    description: (to, sdp) => sent.push({ kind: "description", to, body: sdp }),
    candidate: (to, c) => sent.push({ kind: "candidate", to, body: c }),
  };
  let fake!: FakePeerConnection;
  const link = new PeerLink({
    remoteSid: "remote",
    polite,
    config: { iceServers: [] },
    signaling,
    createPeerConnection: (config) => asPc((fake = new FakePeerConnection(config))),
    ...extra,
  });
  return { link, fake, sent };
}

const track = (kind: string) => ({ kind, id: `${kind}-1` }) as MediaStreamTrack;
const stream = () =>
  ({ getTracks: () => [track("audio"), track("video")] }) as unknown as MediaStream;

describe("isPolite", () => {
  it("makes exactly one of two peers polite", () => {
    expect(isPolite("a", "b")).not.toBe(isPolite("b", "a"));
  });
});

describe("PeerLink", () => {
  it("offers when tracks are added", async () => {
    const { link, sent, fake } = makeLink(false);
    link.setLocalStream(stream());
    await settle();
    expect(fake.signalingState).toBe("have-local-offer");
    expect(sent.filter((s) => s.kind === "description")).toHaveLength(1);
    expect(sent[0]).toMatchObject({ to: "remote", body: { type: "offer" } });
  });

  it("answers an offer when stable", async () => {
    const { link, sent, fake } = makeLink(false);
    await link.handleDescription({ type: "offer", sdp: "theirs" });
    expect(fake.signalingState).toBe("stable");
    expect(sent).toEqual([{ kind: "description", to: "remote", body: { type: "answer", sdp: `answer from ${fake.name}` } }]);
  });

  it("polite peer rolls back its own offer on glare and answers theirs", async () => {
    const { link, sent, fake } = makeLink(true);
    link.setLocalStream(stream());
    await settle();
    expect(fake.signalingState).toBe("have-local-offer");
    await link.handleDescription({ type: "offer", sdp: "theirs" });
    expect(fake.remoteDescription?.sdp).toBe("theirs");
    expect(fake.signalingState).toBe("stable");
    expect(sent.at(-1)).toMatchObject({ body: { type: "answer" } });
  });

  it("impolite peer ignores a colliding offer and keeps its own", async () => {
    const onError = vi.fn();
    const { link, sent, fake } = makeLink(false, { onError });
    link.setLocalStream(stream());
    await settle();
    await link.handleDescription({ type: "offer", sdp: "theirs" });
    expect(fake.signalingState).toBe("have-local-offer");
    expect(fake.remoteDescription).toBeNull();
    expect(sent.filter((s) => (s.body as RTCSessionDescriptionInit).type === "answer")).toHaveLength(0);
    // The candidates of the ignored offer fail quietly.
    await link.handleCandidate({ candidate: "x" });
    expect(onError).not.toHaveBeenCalled();
  });

  it("queues candidates until the remote description is set", async () => {
    const { link, fake } = makeLink(false);
    await link.handleCandidate({ candidate: "c1" });
    await link.handleCandidate({ candidate: "c2" });
    expect(fake.candidates).toEqual([]);
    expect(link.pendingCandidateCount).toBe(2);
    await link.handleDescription({ type: "offer", sdp: "theirs" });
    expect(fake.candidates.map((c) => c.candidate)).toEqual(["c1", "c2"]);
    expect(link.pendingCandidateCount).toBe(0);
    await link.handleCandidate({ candidate: "c3" });
    expect(fake.candidates.map((c) => c.candidate)).toEqual(["c1", "c2", "c3"]);
  });

  it("sends its own candidates to the remote peer", () => {
    const { fake, sent } = makeLink(false);
    fake.gather("candidate:1 1 udp 1 127.0.0.1 5000 typ host");
    expect(sent).toEqual([
      { kind: "candidate", to: "remote", body: expect.objectContaining({ sdpMid: "0" }) },
    ]);
  });

  it("restarts ICE with fresh servers when the connection fails", async () => {
    const fresh = [{ urls: ["turn:127.0.0.1:3478"], username: "u", credential: "p" }];
    const refreshIceServers = vi.fn().mockResolvedValue(fresh);
    const states: string[] = [];
    const { fake, sent } = makeLink(false, { refreshIceServers, onStateChange: (s) => states.push(s) });
    fake.setConnectionState("failed");
    await settle();
    expect(states).toEqual(["failed"]);
    expect(refreshIceServers).toHaveBeenCalledOnce();
    expect(fake.config.iceServers).toEqual(fresh);
    expect(fake.restarts).toBe(1);
    // restartIce() leads to a new offer.
    expect(sent.at(-1)).toMatchObject({ kind: "description", body: { type: "offer" } });
  });

  it("swaps the outgoing video track without renegotiating", async () => {
    const { link, fake, sent } = makeLink(false);
    link.setLocalStream(stream());
    await settle();
    const before = sent.length;
    const screen = track("video");
    await link.replaceVideoTrack(screen);
    await settle();
    expect(sent.length).toBe(before);
    expect(fake.tracks).toHaveLength(2);
  });

  it("does not offer when negotiationneeded fires outside stable (a rollback is queued)", async () => {
    const { fake, sent } = makeLink(true);
    await fake.setRemoteDescription({ type: "offer", sdp: "theirs" });
    fake.onnegotiationneeded?.();
    await settle();
    expect(sent).toEqual([]);
    expect(fake.signalingState).toBe("have-remote-offer");
  });

  it("a passive link keeps its tracks for the answer to the newcomer's offer", async () => {
    const { link, fake, sent } = makeLink(false, { passive: true, passiveForMs: 10_000 });
    link.setLocalStream(stream());
    await settle();
    expect(fake.tracks).toHaveLength(0);
    expect(sent).toEqual([]);
    await link.handleDescription({ type: "offer", sdp: "theirs" });
    expect(fake.tracks).toHaveLength(2);
    expect(sent.map((s) => (s.body as RTCSessionDescriptionInit).type)).toContain("answer");
    link.close();
  });

  it("a passive link offers itself when no offer comes", async () => {
    vi.useFakeTimers();
    const { link, fake, sent } = makeLink(false, { passive: true, passiveForMs: 3000 });
    link.setLocalStream(stream());
    await vi.advanceTimersByTimeAsync(2900);
    expect(sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect(fake.tracks).toHaveLength(2);
    expect(sent.at(-1)).toMatchObject({ body: { type: "offer" } });
    vi.useRealTimers();
  });

  it("stops signaling after close", async () => {
    const { link, fake, sent } = makeLink(false);
    link.close();
    expect(fake.closed).toBe(true);
    await link.handleDescription({ type: "offer", sdp: "late" });
    await link.handleCandidate({ candidate: "late" });
    fake.gather("late");
    expect(sent).toEqual([]);
  });
});

describe("two PeerLinks offering at the same time", () => {
  it("converge: one offer wins, both sides end stable with each other's description", async () => {
    const fakes: Record<string, FakePeerConnection> = {};
    const links: Record<string, PeerLink> = {};
    // Messages are delivered asynchronously, in order, like Socket.IO.
    const deliver = (to: string, fn: (l: PeerLink) => Promise<void>) =>
      setTimeout(() => void fn(links[to]), 0);
    for (const [me, other] of [["sidA", "sidB"], ["sidB", "sidA"]] as const) {
      links[me] = new PeerLink({
        remoteSid: other,
        polite: isPolite(me, other),
        config: {},
        signaling: {
          description: (to, sdp) => deliver(to, (l) => l.handleDescription(sdp)),
          candidate: (to, c) => deliver(to, (l) => l.handleCandidate(c)),
        },
        createPeerConnection: () => asPc((fakes[me] = new FakePeerConnection())),
      });
    }
    links.sidA.setLocalStream(stream());
    links.sidB.setLocalStream(stream());
    fakes.sidA.gather("a-candidate");
    fakes.sidB.gather("b-candidate");
    for (let i = 0; i < 10; i++) await settle();
    expect(fakes.sidA.signalingState).toBe("stable");
    expect(fakes.sidB.signalingState).toBe("stable");
    expect(fakes.sidA.remoteDescription).not.toBeNull();
    expect(fakes.sidB.remoteDescription).not.toBeNull();
    // The candidate sent before any description was queued, then added.
    expect(fakes.sidA.candidates.map((c) => c.candidate)).toContain("b-candidate");
    expect(fakes.sidB.candidates.map((c) => c.candidate)).toContain("a-candidate");
  });
});
