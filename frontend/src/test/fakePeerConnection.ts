// A small RTCPeerConnection stand-in for negotiation tests: it keeps the signaling state machine
// of the spec (stable / have-local-offer / have-remote-offer), refuses an offer in
// have-local-offer unless rolled back, and refuses candidates before a remote description.

let counter = 0;

export class FakePeerConnection {
  signalingState: RTCSignalingState = "stable";
  connectionState: RTCPeerConnectionState = "new";
  localDescription: RTCSessionDescription | null = null;
  remoteDescription: RTCSessionDescription | null = null;
  candidates: RTCIceCandidateInit[] = [];
  config: RTCConfiguration;
  restarts = 0;
  closed = false;
  tracks: MediaStreamTrack[] = [];
  onnegotiationneeded: (() => void) | null = null;
  onicecandidate: ((e: { candidate: { toJSON(): RTCIceCandidateInit } | null }) => void) | null = null;
  ontrack: ((e: unknown) => void) | null = null;
  onconnectionstatechange: (() => void) | null = null;
  readonly name = `pc${++counter}`;

  constructor(config: RTCConfiguration = {}) {
    this.config = config;
  }

  private desc(type: RTCSdpType): RTCSessionDescription {
    const sdp = `${type} from ${this.name}`;
    return { type, sdp, toJSON: () => ({ type, sdp }) } as RTCSessionDescription;
  }

  async setLocalDescription(d?: RTCSessionDescriptionInit): Promise<void> {
    await Promise.resolve();
    if (d?.type === "rollback") {
      if (this.signalingState !== "have-local-offer") throw new DOMException("no offer", "InvalidStateError");
      this.signalingState = "stable";
      this.localDescription = null;
      return;
    }
    if (this.signalingState === "stable" || this.signalingState === "have-local-offer") {
      this.localDescription = this.desc("offer");
      this.signalingState = "have-local-offer";
    } else if (this.signalingState === "have-remote-offer") {
      this.localDescription = this.desc("answer");
      this.signalingState = "stable";
    }
  }

  async setRemoteDescription(d: RTCSessionDescriptionInit): Promise<void> {
    await Promise.resolve();
    if (d.type === "offer") {
      if (this.signalingState === "have-local-offer") {
        throw new DOMException("glare", "InvalidStateError");
      }
      this.signalingState = "have-remote-offer";
    } else if (d.type === "answer") {
      if (this.signalingState !== "have-local-offer") {
        throw new DOMException("unexpected answer", "InvalidStateError");
      }
      this.signalingState = "stable";
    }
    this.remoteDescription = { ...d, toJSON: () => d } as RTCSessionDescription;
  }

  async addIceCandidate(c: RTCIceCandidateInit): Promise<void> {
    if (!this.remoteDescription) throw new DOMException("no remote description", "InvalidStateError");
    this.candidates.push(c);
  }

  addTrack(track: MediaStreamTrack): RTCRtpSender {
    this.tracks.push(track);
    const sender = {
      track,
      replaceTrack: async (t: MediaStreamTrack | null) => {
        sender.track = t as MediaStreamTrack;
      },
    };
    this.needNegotiation();
    return sender as unknown as RTCRtpSender;
  }

  getConfiguration(): RTCConfiguration {
    return this.config;
  }

  setConfiguration(c: RTCConfiguration): void {
    this.config = c;
  }

  restartIce(): void {
    this.restarts += 1;
    this.needNegotiation();
  }

  private negotiationQueued = false;

  /** Like a browser: coalesced, and only fired in the stable state. */
  private needNegotiation(): void {
    if (this.negotiationQueued) return;
    this.negotiationQueued = true;
    queueMicrotask(() => {
      this.negotiationQueued = false;
      if (this.signalingState === "stable") this.onnegotiationneeded?.();
    });
  }

  /** Test helper: as if ICE had moved to this state. */
  setConnectionState(state: RTCPeerConnectionState): void {
    this.connectionState = state;
    this.onconnectionstatechange?.();
  }

  /** Test helper: as if ICE had gathered a candidate. */
  gather(candidate: string): void {
    this.onicecandidate?.({ candidate: { toJSON: () => ({ candidate, sdpMid: "0", sdpMLineIndex: 0 }) } });
  }

  close(): void {
    this.closed = true;
    this.signalingState = "closed";
    this.connectionState = "closed";
  }
}

export const asPc = (f: FakePeerConnection) => f as unknown as RTCPeerConnection;

/** Let every pending promise callback and microtask run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
  await new Promise((r) => setTimeout(r, 0));
}
