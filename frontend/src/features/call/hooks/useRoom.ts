// Membership of one room over Socket.IO: join on every (re)connect, keep the list of peers.
import { useEffect, useState } from "react";
import type { Ack, AppSocket, JoinAck, Peer } from "@/shared/api/types";

export interface RoomError {
  code: string;
  message: string;
}

export interface RoomState {
  /** The latest join acknowledgement; null while (re)joining. */
  joined: JoinAck | null;
  peers: Peer[];
  error: RoomError | null;
}

const RETRYABLE = new Set(["unavailable", "timeout", "rate_limited", "internal"]);

export function useRoom(socket: AppSocket | null, roomId: string, inviteToken: string | null): RoomState {
  const [joined, setJoined] = useState<JoinAck | null>(null);
  const [peers, setPeers] = useState<Peer[]>([]);
  const [error, setError] = useState<RoomError | null>(null);

  useEffect(() => {
    if (!socket) return;
    let active = true;
    let retry: ReturnType<typeof setTimeout> | undefined;

    const join = async () => {
      clearTimeout(retry);
      let ack: Ack<JoinAck>;
      try {
        ack = await socket
          .timeout(10_000)
          .emitWithAck("join", { room_id: roomId, ...(inviteToken ? { invite_token: inviteToken } : {}) });
      } catch {
        ack = { ok: false, error: { code: "timeout", message: "The server did not answer." } };
      }
      if (!active) return;
      if (ack.ok) {
        setJoined(ack);
        setPeers(ack.peers);
        setError(null);
      } else {
        setError(ack.error);
        if (RETRYABLE.has(ack.error.code) && socket.connected) retry = setTimeout(join, 1000);
      }
    };
    const onConnect = () => void join();
    const onDisconnect = () => {
      setJoined(null);
      setPeers([]);
    };
    const onPeerJoined = (peer: Peer) =>
      setPeers((all) => [...all.filter((p) => p.sid !== peer.sid), peer]);
    const onPeerLeft = (peer: Peer) => setPeers((all) => all.filter((p) => p.sid !== peer.sid));

    socket.on("connect", onConnect);
    socket.on("disconnect", onDisconnect);
    socket.on("peer-joined", onPeerJoined);
    socket.on("peer-left", onPeerLeft);
    if (socket.connected) void join();
    return () => {
      active = false;
      clearTimeout(retry);
      socket.off("connect", onConnect);
      socket.off("disconnect", onDisconnect);
      socket.off("peer-joined", onPeerJoined);
      socket.off("peer-left", onPeerLeft);
      if (socket.connected) socket.emit("leave", { room_id: roomId });
      setJoined(null);
      setPeers([]);
    };
  }, [socket, roomId, inviteToken]);

  return { joined, peers, error };
}
