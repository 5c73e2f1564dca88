// Rooms as two features use them: the catalogue opens one, the call page joins and shows it.
import { api } from "@/shared/api/client";
import type { CreatedRoom } from "@/shared/api/types";

export const createRoom = (companionId: string) =>
  api.post<CreatedRoom>("/api/rooms", { companion_id: companionId });

// The invite link is shown to the learner who opened the room, across reloads.
const inviteKey = (roomId: string) => `holo.invite.${roomId}`;
export const rememberInvite = (roomId: string, url: string) =>
  localStorage.setItem(inviteKey(roomId), url);
export const rememberedInvite = (roomId: string) => localStorage.getItem(inviteKey(roomId));

/** The URL a second person opens: /rooms/{room_id}?invite={token} (app/api/rooms.py). */
export function roomPath(roomId: string, inviteToken?: string | null): string {
  const base = `/rooms/${encodeURIComponent(roomId)}`;
  return inviteToken ? `${base}?invite=${encodeURIComponent(inviteToken)}` : base;
}
