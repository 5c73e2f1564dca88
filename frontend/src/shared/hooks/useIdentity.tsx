// Who the browser is: a guest token, kept across reloads. Components below <IdentityProvider>
// read it with useIdentity(); without one, the provider asks for a display name first.
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { api, ApiError } from "@/shared/api/client";
import type { GuestToken } from "@/shared/api/types";
import {
  lastDisplayName,
  loadIdentity,
  saveIdentity,
  UNAUTHORIZED_EVENT,
} from "@/shared/lib/identity";

interface IdentityContextValue {
  identity: GuestToken;
}

const IdentityContext = createContext<IdentityContextValue | null>(null);

export function useIdentity(): GuestToken {
  const value = useContext(IdentityContext);
  if (!value) throw new Error("useIdentity() outside <IdentityProvider>");
  return value.identity;
}

export function IdentityProvider({ children }: { children: ReactNode }) {
  const [identity, setIdentity] = useState<GuestToken | null>(() => loadIdentity());
  const [name, setName] = useState(lastDisplayName);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const signIn = useCallback(async (displayName: string) => {
    setBusy(true);
    setError(null);
    try {
      const issued = await api.post<GuestToken>("/api/auth/guest", { display_name: displayName });
      saveIdentity(issued);
      setIdentity(issued);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "Something went wrong; please try again.");
    } finally {
      setBusy(false);
    }
  }, []);

  useEffect(() => {
    const forget = () => setIdentity(null);
    window.addEventListener(UNAUTHORIZED_EVENT, forget);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, forget);
  }, []);

  // Renew an expired guest token silently when we still know the name (at most once every
  // 30 s: a server that refuses every token must not get a loop of sign-ins).
  useEffect(() => {
    if (identity || !lastDisplayName()) return;
    const last = Number(sessionStorage.getItem("holo.renewedAt") ?? 0);
    if (Date.now() - last < 30_000) return;
    sessionStorage.setItem("holo.renewedAt", String(Date.now()));
    void signIn(lastDisplayName());
  }, [identity, signIn]);

  if (identity) {
    return <IdentityContext.Provider value={{ identity }}>{children}</IdentityContext.Provider>;
  }
  return (
    <main className="page narrow" aria-labelledby="welcome-title">
      <h1 id="welcome-title">Welcome to Holo Tutor Hub</h1>
      <p>Tell us what to call you. Your tutor and the people you invite will see this name.</p>
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          if (name.trim()) void signIn(name.trim());
        }}
      >
        <label htmlFor="display-name">Your name</label>
        <input
          id="display-name"
          name="display_name"
          autoComplete="nickname"
          maxLength={64}
          required
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
        <button type="submit" className="primary" disabled={busy || !name.trim()}>
          {busy ? "Starting…" : "Continue"}
        </button>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
