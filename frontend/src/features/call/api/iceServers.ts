import { api } from "@/shared/api/client";
import type { IceServers } from "@/shared/api/types";

/** The API's list as RTCIceServer objects (the API says null where the browser wants absent). */
export function toRtcIceServers(answer: IceServers): RTCIceServer[] {
  return answer.ice_servers.map(({ urls, username, credential }) => ({
    urls,
    ...(username ? { username } : {}),
    ...(credential ? { credential } : {}),
  }));
}

export const fetchIceServers = () => api.get<IceServers>("/api/ice-servers");

/** Refresh when 80% of the credentials' lifetime has passed (at least every 30 s, at most hourly). */
export function refreshDelayMs(ttlSeconds: number): number {
  return Math.min(Math.max(ttlSeconds * 0.8, 30), 3600) * 1000;
}
