// Peer connections for a room: one PeerLink per remote participant, signaled over Socket.IO.
//
// - Links for the peers listed in the join ack (and every later peer-joined) are made once we
//   have joined; an offer from a peer we have no link for yet makes one (it can overtake the ack).
// - The newcomer offers: links to the peers of our join ack send their tracks at once, links to
//   peers who joined after us wait (briefly) for their offer. Perfect negotiation still settles
//   any collision, but the first call set-up has none.
// - A socket drop closes every link: our socket id changes, so the others see us leave and come
//   back, and both sides negotiate afresh after the rejoin.
// - ICE servers are refreshed by useIceServers; links take the new list for future gathering and
//   fetch a fresh one before an ICE restart.
import { useCallback, useEffect, useRef, useState } from "react";
import type { AppSocket, Peer } from "@/shared/api/types";
import { isPolite, PeerLink } from "../lib/peerLink";

export interface RemoteParticipant {
  sid: string;
  stream: MediaStream | null;
  state: RTCPeerConnectionState;
}

export type CallState = "waiting" | "connecting" | "connected" | "reconnecting" | "failed";

export interface UseWebRTCOptions {
  socket: AppSocket | null;
  roomId: string;
  /** Our socket id once the join was acknowledged; null while (re)joining. */
  joinedSid: string | null;
  peers: Peer[];
  /** AppSocket ids listed in our join ack: we offer to these; later arrivals offer to us. */
  initialPeerSids?: string[];
  localStream: MediaStream | null;
  outgoingVideo: MediaStreamTrack | null;
  iceServers: RTCIceServer[] | null;
  refreshIceServers: () => Promise<RTCIceServer[] | null>;
  createPeerConnection?: (config: RTCConfiguration) => RTCPeerConnection;
  onError?: (error: unknown) => void;
}

export interface UseWebRTC {
  remotes: RemoteParticipant[];
  callState: CallState;
  links: () => PeerLink[];
}

export function summarize(
  socketUp: boolean,
  peerCount: number,
  states: RTCPeerConnectionState[],
): CallState {
  if (!socketUp) return "reconnecting";
  if (peerCount === 0 && states.length === 0) return "waiting";
  if (states.includes("connected")) return "connected";
  if (states.includes("failed")) return "failed";
  if (states.includes("disconnected")) return "reconnecting";
  return "connecting";
}

export function useWebRTC(opts: UseWebRTCOptions): UseWebRTC {
  const { socket, roomId, joinedSid, peers, iceServers } = opts;
  const links = useRef(new Map<string, PeerLink>());
  const [remotes, setRemotes] = useState<Record<string, RemoteParticipant>>({});
  const latest = useRef(opts);
  latest.current = opts;

  const update = useCallback((sid: string, patch: Partial<RemoteParticipant>) => {
    setRemotes((all) => {
      const base = all[sid] ?? { sid, stream: null, state: "new" as RTCPeerConnectionState };
      return { ...all, [sid]: { ...base, ...patch } };
    });
  }, []);

  const closeLink = useCallback((sid: string) => {
    links.current.get(sid)?.close();
    links.current.delete(sid);
    setRemotes((all) => {
      if (!(sid in all)) return all;
      const { [sid]: _gone, ...rest } = all;
      return rest;
    });
  }, []);

  const closeAll = useCallback(() => {
    for (const link of links.current.values()) link.close();
    links.current.clear();
    setRemotes({});
  }, []);

  const ensureLink = useCallback(
    (sid: string, passive: boolean): PeerLink | null => {
      const existing = links.current.get(sid);
      if (existing) return existing;
      const o = latest.current;
      const s = o.socket;
      if (!s?.connected || !s.id || o.iceServers === null || sid === s.id) return null;
      const link = new PeerLink({
        remoteSid: sid,
        polite: isPolite(s.id, sid),
        config: { iceServers: o.iceServers },
        signaling: {
          description: (to, { type, sdp = "" }) => {
            // Only offers and answers are signaled (the server refuses anything else).
            if (type === "offer" || type === "answer") s.emit(type, { room_id: o.roomId, to, sdp: { type, sdp } });
          },
          candidate: (to, candidate) => {
            // A candidate without its line is nothing the server would relay.
            if (candidate.candidate !== undefined) {
              s.emit("candidate", { room_id: o.roomId, to, candidate: { ...candidate, candidate: candidate.candidate } });
            }
          },
        },
        refreshIceServers: () => latest.current.refreshIceServers(),
        onRemoteStream: (stream) => update(sid, { stream }),
        onStateChange: (state) => update(sid, { state }),
        onError: (error) => latest.current.onError?.(error),
        createPeerConnection: o.createPeerConnection,
        passive,
      });
      links.current.set(sid, link);
      link.setLocalStream(o.localStream);
      const cameraVideo = o.localStream?.getVideoTracks()[0] ?? null;
      if (o.outgoingVideo && o.outgoingVideo !== cameraVideo) {
        void link.replaceVideoTrack(o.outgoingVideo);
      }
      update(sid, {});
      return link;
    },
    [update],
  );

  // Signaling from the other peers, and dropping links when a peer or our socket goes.
  useEffect(() => {
    if (!socket) return;
    const onDescription = ({ from, sdp }: { from: string; sdp: RTCSessionDescriptionInit }) =>
      void ensureLink(from, true)?.handleDescription(sdp);
    const onCandidate = ({ from, candidate }: { from: string; candidate: RTCIceCandidateInit }) =>
      void ensureLink(from, true)?.handleCandidate(candidate);
    const onPeerLeft = ({ sid }: Peer) => closeLink(sid);
    socket.on("offer", onDescription);
    socket.on("answer", onDescription);
    socket.on("candidate", onCandidate);
    socket.on("peer-left", onPeerLeft);
    socket.on("disconnect", closeAll);
    return () => {
      socket.off("offer", onDescription);
      socket.off("answer", onDescription);
      socket.off("candidate", onCandidate);
      socket.off("peer-left", onPeerLeft);
      socket.off("disconnect", closeAll);
      closeAll();
    };
  }, [socket, roomId, ensureLink, closeLink, closeAll]);

  // Everyone we know to be in the room gets a link once we have joined.
  useEffect(() => {
    if (!joinedSid || iceServers === null) return;
    const initial = new Set(latest.current.initialPeerSids ?? []);
    for (const peer of peers) ensureLink(peer.sid, !initial.has(peer.sid));
  }, [joinedSid, peers, iceServers, ensureLink]);

  useEffect(() => {
    for (const link of links.current.values()) link.setLocalStream(opts.localStream);
  }, [opts.localStream]);

  useEffect(() => {
    for (const link of links.current.values()) void link.replaceVideoTrack(opts.outgoingVideo);
  }, [opts.outgoingVideo]);

  useEffect(() => {
    if (iceServers) for (const link of links.current.values()) link.setIceServers(iceServers);
  }, [iceServers]);

  const list = Object.values(remotes);
  return {
    remotes: list,
    callState: summarize(
      Boolean(socket?.connected && joinedSid),
      peers.length,
      list.map((r) => r.state),
    ),
    links: () => [...links.current.values()],
  };
}
