import { api } from "@/shared/api/client";
import type { Companion, SessionRecord } from "@/shared/api/types";

export const endRoom = (roomId: string) =>
  api.delete<SessionRecord>(`/api/rooms/${encodeURIComponent(roomId)}`);
export const fetchCompanion = (id: string) =>
  api.get<Companion>(`/api/companions/${encodeURIComponent(id)}`);
