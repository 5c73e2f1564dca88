// The tutor as a participant of the call: one TutorPeer per join (our socket id changes on a
// reconnect, and the new replica holds the new peer), its live captions and state, push-to-talk.
//
// Voice needs a microphone and a replica with room for it; otherwise the call falls back to
// text mode (typing, and the reply's stored clips played as before) with a notice saying why.
import { useCallback, useEffect, useRef, useState } from "react";
import type { AppSocket, JoinAck, TranscriptEvent, TutorState, TutorStateEvent } from "@/shared/api/types";
import { addCaption, type Caption } from "../lib/captions";
import { TutorPeer, TutorPeerError } from "../lib/tutorPeer";

export type TutorMode = "off" | "connecting" | "voice" | "text";

export interface TextModeReason {
  code: string;
  message: string;
}

export interface TutorCall {
  mode: TutorMode;
  /** Why we are in text mode (shown as a notice). */
  reason: TextModeReason | null;
  state: TutorState;
  /** The tutor peer's connection (ICE and DTLS), "new" before it starts. */
  connection: RTCPeerConnectionState;
  captions: Caption[];
  /** The tutor's voice (a received WebRTC audio track). */
  stream: MediaStream | null;
  /** Push-to-talk in a room with two people: the tutor listens while active. */
  ask: (active: boolean) => void;
}

export interface UseTutorCallOptions {
  socket: AppSocket | null;
  roomId: string;
  joined: JoinAck | null;
  localStream: MediaStream | null;
  /** The camera and microphone question is settled (true even if refused). */
  mediaSettled: boolean;
  iceServers: RTCIceServer[] | null;
  createPeerConnection?: (config: RTCConfiguration) => RTCPeerConnection;
  /** How long to wait for the answer before falling back to text. */
  offerTimeoutMs?: number;
}

const NO_MICROPHONE: TextModeReason = {
  code: "voice_no_microphone",
  message: "Talking with the tutor needs a microphone: type your questions instead.",
};
const BUSY: TextModeReason = {
  code: "voice_busy",
  message: "Voice conversations are full on this server right now: type your questions, the tutor answers as usual.",
};
const FAILED: TextModeReason = {
  code: "voice_failed",
  message: "The tutor's voice connection could not be set up: type your questions instead.",
};

/** The notices that say why the call is in text mode: stale once voice works. */
export const TEXT_MODE_CODES: ReadonlySet<string> = new Set(
  [NO_MICROPHONE, BUSY, FAILED].map((r) => r.code),
);

/** A dropped connection is renegotiated this many times in a row before falling back to text. */
const MAX_RETRIES = 2;

export function useTutorCall(opts: UseTutorCallOptions): TutorCall {
  const { socket, roomId, joined, localStream, mediaSettled, iceServers } = opts;
  const [mode, setMode] = useState<TutorMode>("off");
  const [reason, setReason] = useState<TextModeReason | null>(null);
  const [state, setState] = useState<TutorState>("listening");
  const [connection, setConnection] = useState<RTCPeerConnectionState>("new");
  const [captions, setCaptions] = useState<Caption[]>([]);
  const [stream, setStream] = useState<MediaStream | null>(null);
  // Bumped to negotiate again after the connection failed.
  const [attempt, setAttempt] = useState(0);
  const retries = useRef(0);
  const latest = useRef(opts);
  latest.current = opts;

  const haveIce = iceServers !== null;
  const track = localStream?.getAudioTracks()[0] ?? null;

  useEffect(() => {
    if (!socket || !joined || !mediaSettled || !haveIce) {
      setMode("off");
      return;
    }
    if (!track || !localStream) {
      setMode("text");
      setReason(NO_MICROPHONE);
      return;
    }
    const o = latest.current;
    const timeout = o.offerTimeoutMs ?? 15_000;
    let done = false;
    const peer = new TutorPeer({
      config: { iceServers: o.iceServers ?? [] },
      signaling: {
        offer: async ({ sdp = "" }) => {
          const ack = await socket
            .timeout(timeout)
            .emitWithAck("tutor-offer", { room_id: roomId, sdp: { type: "offer", sdp } });
          if (!ack.ok) throw new TutorPeerError(ack.error.code, ack.error.message);
          if (ack.sdp?.type !== "answer") throw new TutorPeerError("invalid_answer", "No answer.");
          return ack.sdp;
        },
        candidate: (candidate) => {
          // A candidate without its line is nothing the server could use.
          if (candidate.candidate !== undefined) {
            socket.emit("tutor-candidate", {
              room_id: roomId,
              candidate: { ...candidate, candidate: candidate.candidate },
            });
          }
        },
        leave: () => socket.emit("tutor-leave", { room_id: roomId }),
      },
      onStream: (s) => !done && setStream(s),
      onStateChange: (s) => {
        if (done) return;
        setConnection(s);
        if (s === "connected") retries.current = 0;
        if (s === "failed") {
          retries.current += 1;
          if (retries.current > MAX_RETRIES) {
            peer.close();
            setMode("text");
            setReason(FAILED);
          } else {
            setAttempt((n) => n + 1);
          }
        }
      },
      createPeerConnection: o.createPeerConnection,
    });
    setMode("connecting");
    setState("listening");
    setConnection("new");
    peer.start(track, localStream).then(
      () => {
        if (done) return;
        setMode("voice");
        setReason(null);
      },
      (error: unknown) => {
        if (done) return;
        peer.close(false);
        // A socket that dropped meanwhile is not a reason for text mode: the rejoin retries.
        if (!socket.connected) return;
        if (!(error instanceof TutorPeerError)) console.warn("tutor voice:", error);
        setMode("text");
        setReason(error instanceof TutorPeerError && error.code === "voice_busy" ? BUSY : FAILED);
      },
    );
    const onDisconnect = () => {
      done = true;
      peer.close(false);
      setStream(null);
      setMode("off");
    };
    socket.on("disconnect", onDisconnect);
    return () => {
      socket.off("disconnect", onDisconnect);
      if (!done) {
        done = true;
        peer.close(socket.connected);
        setStream(null);
      }
    };
  }, [socket, roomId, joined, mediaSettled, haveIce, track, localStream, attempt]);

  useEffect(() => {
    if (!socket) return;
    const onTranscript = (e: TranscriptEvent) => {
      if (e.room_id === roomId) setCaptions((all) => addCaption(all, e));
    };
    const onState = (e: TutorStateEvent) => {
      if (e.room_id === roomId) setState(e.state);
    };
    socket.on("transcript", onTranscript);
    socket.on("tutor-state", onState);
    return () => {
      socket.off("transcript", onTranscript);
      socket.off("tutor-state", onState);
    };
  }, [socket, roomId]);

  const ask = useCallback(
    (active: boolean) => {
      if (!socket?.connected) return;
      socket
        .timeout(5000)
        .emitWithAck("tutor-ask", { room_id: roomId, active })
        .catch(() => {});
    },
    [socket, roomId],
  );

  return { mode, reason, state, connection, captions, stream, ask };
}
