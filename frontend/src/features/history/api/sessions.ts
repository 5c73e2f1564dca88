import { api } from "@/shared/api/client";
import type { Companion, SessionRecord, Transcript } from "@/shared/api/types";

export const fetchSessions = (signal?: AbortSignal) =>
  api.get<{ sessions: SessionRecord[] }>("/api/sessions", signal).then((r) => r.sessions);
export const fetchSession = (id: string, signal?: AbortSignal) =>
  api.get<SessionRecord>(`/api/sessions/${encodeURIComponent(id)}`, signal);
export const fetchTranscript = (id: string, signal?: AbortSignal) =>
  api.get<Transcript>(`/api/sessions/${encodeURIComponent(id)}/transcript`, signal);
export const fetchCatalogue = (signal?: AbortSignal) =>
  api.get<{ companions: Companion[] }>("/api/companions", signal).then((r) => r.companions);

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export const formatWhen = (unix: number) =>
  new Date(unix * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
