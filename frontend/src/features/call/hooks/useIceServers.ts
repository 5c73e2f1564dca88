// STUN/TURN servers from the API, refreshed before their TURN credentials expire.
import { useCallback, useEffect, useRef, useState } from "react";
import { fetchIceServers, refreshDelayMs, toRtcIceServers } from "../api/iceServers";

export interface IceServersState {
  iceServers: RTCIceServer[] | null;
  error: string | null;
  /** Fetch now (before an ICE restart); resolves to the new list, or null on failure. */
  refresh: () => Promise<RTCIceServer[] | null>;
}

export function useIceServers(): IceServersState {
  const [iceServers, setIceServers] = useState<RTCIceServer[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const alive = useRef(true);

  const refresh = useCallback(async (): Promise<RTCIceServer[] | null> => {
    clearTimeout(timer.current);
    try {
      const answer = await fetchIceServers();
      if (!alive.current) return null;
      const servers = toRtcIceServers(answer);
      setIceServers(servers);
      setError(null);
      timer.current = setTimeout(() => void refresh(), refreshDelayMs(answer.ttl));
      return servers;
    } catch (err) {
      if (!alive.current) return null;
      setError(err instanceof Error ? err.message : String(err));
      // Keep the call going on what we have; try again soon.
      timer.current = setTimeout(() => void refresh(), 10_000);
      // The first fetch failing must not block the call: STUN-less host candidates work on a LAN.
      setIceServers((current) => current ?? []);
      return null;
    }
  }, []);

  useEffect(() => {
    alive.current = true;
    void refresh();
    return () => {
      alive.current = false;
      clearTimeout(timer.current);
    };
  }, [refresh]);

  return { iceServers, error, refresh };
}
