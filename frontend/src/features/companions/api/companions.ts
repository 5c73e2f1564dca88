import { api } from "@/shared/api/client";
import type { Companion } from "@/shared/api/types";

export interface CompanionFilters {
  subject: string;
  level: string;
  language: string;
  q: string;
}

export const noFilters: CompanionFilters = { subject: "", level: "", language: "", q: "" };

export function companionsQuery(filters: CompanionFilters): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value.trim()) params.set(key, value.trim());
  const qs = params.toString();
  return qs ? `/api/companions?${qs}` : "/api/companions";
}

export const fetchCompanions = (filters: CompanionFilters, signal?: AbortSignal) =>
  api.get<{ companions: Companion[] }>(companionsQuery(filters), signal).then((r) => r.companions);
