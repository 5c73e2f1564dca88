// The tutor's peer connection: our microphone goes to the replica that holds our socket, the
// tutor's voice comes back as a WebRTC audio track (so the browser's echo canceller knows what
// it plays and the tutor does not hear itself).
//
// The protocol is simpler than between two people (peerLink.ts): we always offer, the server
// answers with a complete description (it gathers its candidates first), and only our
// candidates trickle. Candidates gathered before the offer went out wait for it, so the server
// never sees a candidate for a peer it does not know yet.
//
// Plain TypeScript, no React: the hook owns the lifetimes, this class owns the protocol, and the
// tests drive it with fake peer connections.

export interface TutorSignaling {
  /** tutor-offer: resolves with the server's answer, rejects with a TutorPeerError. */
  offer(sdp: RTCSessionDescriptionInit): Promise<RTCSessionDescriptionInit>;
  /** tutor-candidate (trickle ICE). */
  candidate(candidate: RTCIceCandidateInit): void;
  /** tutor-leave. */
  leave(): void;
}

/** A refused tutor-offer: `code` is the server's (voice_busy, room_not_found, …). */
export class TutorPeerError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "TutorPeerError";
  }
}

export interface TutorPeerOptions {
  config: RTCConfiguration;
  signaling: TutorSignaling;
  onStream?: (stream: MediaStream) => void;
  onStateChange?: (state: RTCPeerConnectionState) => void;
  createPeerConnection?: (config: RTCConfiguration) => RTCPeerConnection;
}

export class TutorPeer {
  readonly pc: RTCPeerConnection;
  private offered = false;
  private early: RTCIceCandidateInit[] = [];
  private closed = false;

  constructor(private readonly opts: TutorPeerOptions) {
    const create = opts.createPeerConnection ?? ((c: RTCConfiguration) => new RTCPeerConnection(c));
    this.pc = create(opts.config);
    this.pc.onicecandidate = (event) => {
      if (!event.candidate || this.closed) return;
      const candidate = event.candidate.toJSON();
      if (this.offered) this.opts.signaling.candidate(candidate);
      else this.early.push(candidate);
    };
    this.pc.ontrack = (event) => {
      const stream = event.streams[0] ?? new MediaStream([event.track]);
      this.opts.onStream?.(stream);
    };
    this.pc.onconnectionstatechange = () => {
      if (!this.closed) this.opts.onStateChange?.(this.pc.connectionState);
    };
  }

  get state(): RTCPeerConnectionState {
    return this.pc.connectionState;
  }

  /** Send this microphone track and negotiate once. Rejects with the server's refusal (a
   * TutorPeerError) or a browser error; resolves when the answer is applied. */
  async start(track: MediaStreamTrack, stream: MediaStream): Promise<void> {
    this.pc.addTrack(track, stream);
    await this.pc.setLocalDescription();
    const offer = this.pc.localDescription;
    if (this.closed || !offer) return;
    const answer = this.opts.signaling.offer(offer.toJSON());
    // The offer is on the wire (Socket.IO keeps order): what was gathered meanwhile can follow.
    this.offered = true;
    for (const candidate of this.early) this.opts.signaling.candidate(candidate);
    this.early = [];
    const description = await answer;
    if (this.closed) return;
    await this.pc.setRemoteDescription(description);
  }

  /** Close the connection; `notify` tells the server (not needed when the socket is gone: the
   * server closes a disconnected socket's peer itself). */
  close(notify = true): void {
    if (this.closed) return;
    this.closed = true;
    if (notify && this.offered) this.opts.signaling.leave();
    this.pc.onicecandidate = null;
    this.pc.ontrack = null;
    this.pc.onconnectionstatechange = null;
    this.early = [];
    this.pc.close();
  }
}
