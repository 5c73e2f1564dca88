import { describe, expect, it, vi } from "vitest";
import { asPc, FakePeerConnection, settle } from "@/test/fakePeerConnection";
import { TutorPeer, TutorPeerError, type TutorSignaling } from "./tutorPeer";

const track = { kind: "audio" } as MediaStreamTrack;
const stream = {} as MediaStream;

function setup(answer?: () => Promise<RTCSessionDescriptionInit>) {
  let pc!: FakePeerConnection;
  const sent: string[] = [];
  const signaling: TutorSignaling = {
    offer: vi.fn((sdp: RTCSessionDescriptionInit) => {
      sent.push(`offer:${sdp.type}`);
      return answer ? answer() : Promise.resolve({ type: "answer" as const, sdp: "answer from server" });
    }),
    candidate: vi.fn((c: RTCIceCandidateInit) => void sent.push(`candidate:${c.candidate}`)),
    leave: vi.fn(() => void sent.push("leave")),
  };
  const states: RTCPeerConnectionState[] = [];
  const streams: MediaStream[] = [];
  const peer = new TutorPeer({
    config: { iceServers: [{ urls: "stun:example.test" }] },
    signaling,
    onStream: (s) => streams.push(s),
    onStateChange: (s) => states.push(s),
    createPeerConnection: (config) => {
      pc = new FakePeerConnection(config);
      return asPc(pc);
    },
  });
  return { peer, pc, sent, signaling, states, streams };
}

describe("TutorPeer", () => {
  it("sends the microphone, offers once and applies the server's answer", async () => {
    const { peer, pc, sent } = setup();
    await peer.start(track, stream);
    expect(pc.tracks).toEqual([track]);
    expect(pc.config.iceServers).toEqual([{ urls: "stun:example.test" }]);
    expect(sent).toEqual(["offer:offer"]);
    expect(pc.signalingState).toBe("stable");
    expect(pc.remoteDescription?.sdp).toBe("answer from server");
  });

  it("holds candidates gathered before the offer went out, then trickles the rest", async () => {
    let release!: (a: RTCSessionDescriptionInit) => void;
    const { peer, pc, sent } = setup(() => new Promise((r) => (release = r)));
    const started = peer.start(track, stream);
    // Gathering starts with setLocalDescription: a candidate may be ready before the offer.
    pc.gather("host-1");
    await settle();
    pc.gather("host-2");
    expect(sent).toEqual(["offer:offer", "candidate:host-1", "candidate:host-2"]);
    release({ type: "answer", sdp: "late answer" });
    await started;
    pc.gather("relay-1");
    expect(sent.at(-1)).toBe("candidate:relay-1");
  });

  it("passes the server's refusal on and leaves nothing half-open", async () => {
    const { peer, pc } = setup(() => Promise.reject(new TutorPeerError("voice_busy", "busy")));
    await expect(peer.start(track, stream)).rejects.toMatchObject({ code: "voice_busy" });
    expect(pc.remoteDescription).toBeNull();
    peer.close();
    expect(pc.closed).toBe(true);
  });

  it("reports the tutor's track and the connection state", async () => {
    const { peer, pc, states, streams } = setup();
    await peer.start(track, stream);
    const remote = { id: "tutor-voice" } as MediaStream;
    pc.ontrack?.({ track: { kind: "audio" }, streams: [remote] });
    pc.setConnectionState("connected");
    expect(streams).toEqual([remote]);
    expect(states).toEqual(["connected"]);
  });

  it("closing tells the server once, and a closed peer ignores a late answer", async () => {
    let release!: (a: RTCSessionDescriptionInit) => void;
    const { peer, pc, sent, states } = setup(() => new Promise((r) => (release = r)));
    const started = peer.start(track, stream);
    await settle();
    peer.close();
    peer.close();
    release({ type: "answer", sdp: "too late" });
    await started;
    expect(sent.filter((s) => s === "leave")).toHaveLength(1);
    expect(pc.closed).toBe(true);
    expect(pc.remoteDescription).toBeNull();
    pc.gather("after-close");
    pc.setConnectionState("connected");
    expect(sent).not.toContain("candidate:after-close");
    expect(states).toEqual([]);
  });

  it("closing after the socket dropped does not signal", async () => {
    const { peer, sent } = setup();
    await peer.start(track, stream);
    peer.close(false);
    expect(sent).not.toContain("leave");
  });
});
