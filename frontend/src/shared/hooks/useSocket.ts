// One Socket.IO connection for as long as the component that needs it is mounted. socket.io
// reconnects by itself after a drop; callers re-join the room on every "connect".
import { useEffect, useState } from "react";
import { io, type Socket } from "socket.io-client";
import type { AppSocket } from "@/shared/api/types";
import { reportUnauthorized } from "@/shared/lib/identity";

export type SocketStatus = "connecting" | "connected" | "reconnecting" | "refused";

export interface SocketState {
  socket: AppSocket | null;
  status: SocketStatus;
  error: string | null;
}

export function useSocket(token: string | null, url: string = "/"): SocketState {
  const [socket, setSocket] = useState<AppSocket | null>(null);
  const [status, setStatus] = useState<SocketStatus>("connecting");
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!token) return;
    const s: AppSocket = io(url, {
      auth: { token },
      // WebSocket first: it needs no sticky sessions; long-polling stays as a fallback.
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 4000,
    });
    setStatus("connecting");
    let retry: ReturnType<typeof setTimeout> | undefined;
    const onConnect = () => {
      setStatus("connected");
      setError(null);
    };
    const onDisconnect = (reason: Socket.DisconnectReason) => {
      // "io client disconnect" is us leaving; anything else is a drop socket.io will repair.
      if (reason !== "io client disconnect") setStatus("reconnecting");
    };
    const onConnectError = (err: Error & { data?: { code?: string } }) => {
      if (err.data?.code === "unauthorized") {
        setStatus("refused");
        setError(err.message);
        reportUnauthorized();
      } else if (err.data?.code === "too_many_connections") {
        // Too many tabs open: say so, and try again now and then (a tab may be closed).
        setStatus("reconnecting");
        setError(err.message);
        if (!s.active) retry = setTimeout(() => s.connect(), 5000);
      } else {
        setStatus("reconnecting");
        // A refused handshake (e.g. a draining replica) is not retried by socket.io itself.
        if (!s.active) retry = setTimeout(() => s.connect(), 1000);
      }
    };
    s.on("connect", onConnect);
    s.on("disconnect", onDisconnect);
    s.on("connect_error", onConnectError);
    setSocket(s);
    return () => {
      clearTimeout(retry);
      s.off("connect", onConnect);
      s.off("disconnect", onDisconnect);
      s.off("connect_error", onConnectError);
      s.disconnect();
      setSocket(null);
    };
  }, [token, url]);

  return { socket, status, error };
}
