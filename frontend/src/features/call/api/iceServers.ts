import { api } from "@/shared/api/client";
import type { IceServers } from "@/shared/api/types";

export const fetchIceServers = () => api.get<IceServers>("/api/ice-servers");

/** Refresh when 80% of the credentials' lifetime has passed (at least every 30 s, at most hourly). */
export function refreshDelayMs(ttlSeconds: number): number {
  return Math.min(Math.max(ttlSeconds * 0.8, 30), 3600) * 1000;
}
