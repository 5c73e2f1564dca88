// One RTCPeerConnection to one remote peer, negotiated with the "perfect negotiation" pattern
// (https://w3c.github.io/webrtc-pc/#perfect-negotiation-example): either side may offer at any
// time; on a collision the polite peer rolls back its own offer and answers, the impolite peer
// ignores the incoming one. Candidates that arrive before a remote description are queued.
//
// Plain TypeScript, no React: the hook owns the lifetimes, this class owns the protocol, and the
// tests drive it with fake peer connections.

export interface Signaling {
  /** Send an offer or an answer (sdp.type says which) to one peer. */
  description(to: string, sdp: RTCSessionDescriptionInit): void;
  candidate(to: string, candidate: RTCIceCandidateInit): void;
}

export interface PeerLinkOptions {
  remoteSid: string;
  polite: boolean;
  config: RTCConfiguration;
  signaling: Signaling;
  /** Fresh ICE servers before an ICE restart (TURN credentials may have expired). */
  refreshIceServers?: () => Promise<RTCIceServer[] | null>;
  onRemoteStream?: (stream: MediaStream) => void;
  onStateChange?: (state: RTCPeerConnectionState) => void;
  onError?: (error: unknown) => void;
  createPeerConnection?: (config: RTCConfiguration) => RTCPeerConnection;
  /** Wait for the other side's offer before sending our tracks (we were in the room first and
   * the newcomer offers): no glare on the first negotiation, one round trip instead of two.
   * After `passiveForMs` without an offer we offer ourselves. */
  passive?: boolean;
  passiveForMs?: number;
}

/** The polite peer is the one with the larger socket id: both sides agree without talking. */
export function isPolite(localSid: string, remoteSid: string): boolean {
  return localSid > remoteSid;
}

export class PeerLink {
  readonly pc: RTCPeerConnection;
  readonly remoteSid: string;
  readonly polite: boolean;
  private makingOffer = false;
  private ignoreOffer = false;
  private settingRemoteAnswer = false;
  private pendingCandidates: RTCIceCandidateInit[] = [];
  private senders = new Map<string, RTCRtpSender>();
  private remoteStream: MediaStream | null = null;
  private restarting = false;
  private closed = false;
  private deferred: MediaStream | null = null;
  private passiveTimer: ReturnType<typeof setTimeout> | undefined;
  private waitingForOffer: boolean;

  constructor(private readonly opts: PeerLinkOptions) {
    this.remoteSid = opts.remoteSid;
    this.polite = opts.polite;
    const create = opts.createPeerConnection ?? ((c: RTCConfiguration) => new RTCPeerConnection(c));
    this.pc = create(opts.config);
    this.waitingForOffer = Boolean(opts.passive);
    if (this.waitingForOffer) {
      this.passiveTimer = setTimeout(() => this.stopWaiting(), opts.passiveForMs ?? 3000);
    }
    this.pc.onnegotiationneeded = () => void this.negotiate();
    this.pc.onicecandidate = (event) => {
      if (event.candidate && !this.closed) {
        this.opts.signaling.candidate(this.remoteSid, event.candidate.toJSON());
      }
    };
    this.pc.ontrack = (event) => {
      const stream = event.streams[0] ?? this.remoteStream ?? new MediaStream();
      if (!event.streams[0]) stream.addTrack(event.track);
      this.remoteStream = stream;
      this.opts.onRemoteStream?.(stream);
    };
    this.pc.onconnectionstatechange = () => {
      const state = this.pc.connectionState;
      this.opts.onStateChange?.(state);
      if (state === "failed") void this.restartIce();
    };
  }

  get state(): RTCPeerConnectionState {
    return this.pc.connectionState;
  }

  get pendingCandidateCount(): number {
    return this.pendingCandidates.length;
  }

  /** Send these tracks (audio and video of the camera stream). */
  setLocalStream(stream: MediaStream | null): void {
    if (!stream || this.closed) return;
    if (this.waitingForOffer) {
      this.deferred = stream;
      return;
    }
    for (const track of stream.getTracks()) {
      const sender = this.senders.get(track.kind);
      if (sender) {
        if (sender.track !== track) void sender.replaceTrack(track);
      } else {
        this.senders.set(track.kind, this.pc.addTrack(track, stream));
      }
    }
  }

  /** Swap the outgoing video (camera ⇄ screen) without renegotiating. */
  async replaceVideoTrack(track: MediaStreamTrack | null): Promise<void> {
    const sender = this.senders.get("video");
    if (sender) await sender.replaceTrack(track);
  }

  private stopWaiting(): void {
    clearTimeout(this.passiveTimer);
    if (!this.waitingForOffer) return;
    this.waitingForOffer = false;
    const stream = this.deferred;
    this.deferred = null;
    this.setLocalStream(stream);
  }

  private async negotiate(): Promise<void> {
    // Only from stable: negotiationneeded can fire while a rollback or an answer is still
    // queued, and an offer made then would be rolled back under us (Chrome then stops
    // gathering for the answer). The browser fires the event again once stable.
    if (this.closed || this.pc.signalingState !== "stable") return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      const local = this.pc.localDescription;
      if (local && !this.closed) this.opts.signaling.description(this.remoteSid, local.toJSON());
    } catch (error) {
      this.opts.onError?.(error);
    } finally {
      this.makingOffer = false;
    }
  }

  async handleDescription(description: RTCSessionDescriptionInit): Promise<void> {
    if (this.closed) return;
    try {
      const readyForOffer =
        !this.makingOffer && (this.pc.signalingState === "stable" || this.settingRemoteAnswer);
      const collision = description.type === "offer" && !readyForOffer;
      this.ignoreOffer = !this.polite && collision;
      if (this.ignoreOffer) return;
      if (collision) {
        // Glare and we are polite: drop our own offer, take theirs.
        await this.pc.setLocalDescription({ type: "rollback" });
      }
      this.settingRemoteAnswer = description.type === "answer";
      await this.pc.setRemoteDescription(description);
      this.settingRemoteAnswer = false;
      await this.flushCandidates();
      if (description.type === "offer") {
        // Passive until now: our tracks join this answer (addTrack reuses the offered m-lines).
        this.stopWaiting();
        await this.pc.setLocalDescription();
        const local = this.pc.localDescription;
        if (local && !this.closed) this.opts.signaling.description(this.remoteSid, local.toJSON());
      }
    } catch (error) {
      this.settingRemoteAnswer = false;
      this.opts.onError?.(error);
    }
  }

  async handleCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    if (this.closed) return;
    if (!this.pc.remoteDescription) {
      this.pendingCandidates.push(candidate);
      return;
    }
    await this.addCandidate(candidate);
  }

  private async flushCandidates(): Promise<void> {
    const queued = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const candidate of queued) await this.addCandidate(candidate);
  }

  private async addCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (error) {
      // Candidates of an offer we ignored are expected to fail.
      if (!this.ignoreOffer) this.opts.onError?.(error);
    }
  }

  /** New ICE servers (refreshed TURN credentials) for future gathering. */
  setIceServers(iceServers: RTCIceServer[]): void {
    if (this.closed) return;
    try {
      this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers });
    } catch (error) {
      this.opts.onError?.(error);
    }
  }

  /** ICE restart: fresh credentials, then restartIce() (which triggers negotiationneeded). */
  async restartIce(): Promise<void> {
    if (this.closed || this.restarting) return;
    this.restarting = true;
    try {
      const servers = await this.opts.refreshIceServers?.();
      if (servers) this.setIceServers(servers);
      if (!this.closed) this.pc.restartIce();
    } catch (error) {
      this.opts.onError?.(error);
    } finally {
      this.restarting = false;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.passiveTimer);
    this.deferred = null;
    this.pc.onnegotiationneeded = null;
    this.pc.onicecandidate = null;
    this.pc.ontrack = null;
    this.pc.onconnectionstatechange = null;
    this.pendingCandidates = [];
    this.senders.clear();
    this.pc.close();
  }
}
