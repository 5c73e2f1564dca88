import { api } from "@/shared/api/client";
import type { Companion, Profile, ProfileUpdate, Progress } from "@/shared/api/types";

export const fetchProfile = (signal?: AbortSignal) => api.get<Profile>("/api/me", signal);
export const saveProfile = (update: ProfileUpdate) => api.put<Profile>("/api/me", update);
export const fetchProgress = (signal?: AbortSignal) => api.get<Progress>("/api/me/progress", signal);
export const fetchExport = () => api.get<unknown>("/api/me/export");
export const eraseMe = () => api.delete<null>("/api/me");
export const fetchCompanions = (signal?: AbortSignal) =>
  api.get<{ companions: Companion[] }>("/api/companions", signal).then((r) => r.companions);

export const LEVELS = ["primary", "beginner", "secondary", "intermediate", "university", "advanced"] as const;
export const MAX_GOALS = 500;

/** Offer the learner's data as a JSON file download. */
export function downloadJson(data: unknown, filename: string) {
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.click();
  URL.revokeObjectURL(url);
}
