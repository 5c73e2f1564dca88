// The guest identity lives in localStorage so that a reload (or a second tab) is the same person
// and rejoins the same room. The token is a signed guest token: no secret of ours.
import type { GuestToken } from "@/shared/api/types";

const KEY = "holo.identity";

export function loadIdentity(now: number = Date.now()): GuestToken | null {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return null;
    const identity = JSON.parse(raw) as GuestToken;
    // Treat a token that expires within a minute as gone.
    if (!identity.token || identity.expires_at * 1000 < now + 60_000) return null;
    return identity;
  } catch {
    return null;
  }
}

export function saveIdentity(identity: GuestToken): void {
  localStorage.setItem(KEY, JSON.stringify(identity));
  localStorage.setItem(`${KEY}.name`, identity.display_name);
}

export function lastDisplayName(): string {
  return localStorage.getItem(`${KEY}.name`) ?? "";
}

export function clearIdentity(): void {
  localStorage.removeItem(KEY);
}

/** The server refused our token (expired, or signed with a rotated key): forget it, and let
 * the IdentityProvider get a fresh one for the same name. */
export const UNAUTHORIZED_EVENT = "holo:unauthorized";

export function reportUnauthorized(): void {
  clearIdentity();
  window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
}
