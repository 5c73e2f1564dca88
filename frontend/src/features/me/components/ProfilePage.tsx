import { useEffect, useState, type FormEvent } from "react";
import { ApiError } from "@/shared/api/client";
import type { Companion, Profile, ProfileUpdate } from "@/shared/api/types";
import { useAsync } from "@/shared/hooks/useAsync";
import { languageName } from "@/shared/lib/languages";
import { downloadJson, eraseMe, fetchCompanions, fetchExport, fetchProfile, LEVELS, MAX_GOALS, saveProfile } from "../api/me";

// The server names the catalogue's languages in its schema; the stored profile holds one of them.
type Language = NonNullable<ProfileUpdate["preferred_language"]>;

const toUpdate = (p: Profile): ProfileUpdate => ({
  display_name: p.display_name,
  preferred_language: (p.preferred_language ?? null) as Language | null,
  goals: p.goals ?? "",
  levels: (p.levels ?? {}) as ProfileUpdate["levels"],
  memory: p.memory ?? true,
});

export function ProfilePage() {
  const profile = useAsync((signal) => fetchProfile(signal), []);
  const catalogue = useAsync((signal) => fetchCompanions(signal), []);
  return (
    <main className="page narrow" aria-labelledby="profile-title">
      <h1 id="profile-title">Your profile</h1>
      <div aria-live="polite" aria-busy={profile.status === "loading"}>
        {profile.status === "loading" && <p className="loading">Loading your profile…</p>}
        {profile.status === "error" && (
          <div role="alert" className="error">
            <p>We could not load your profile: {profile.error.message}</p>
            <button type="button" onClick={profile.reload}>Try again</button>
          </div>
        )}
      </div>
      {profile.data && <ProfileForm profile={profile.data} catalogue={catalogue.data ?? []} />}
      <DataRights onErased={profile.reload} />
    </main>
  );
}

function ProfileForm({ profile, catalogue }: { profile: Profile; catalogue: Companion[] }) {
  const [form, setForm] = useState<ProfileUpdate>(() => toUpdate(profile));
  const [status, setStatus] = useState<{ kind: "saved" | "error"; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => setForm(toUpdate(profile)), [profile]);
  const languages = [...new Set(catalogue.flatMap((c) => c.languages))].sort();
  const subjects = [...new Set(catalogue.map((c) => c.subject))].sort();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setStatus(null);
    try {
      setForm(toUpdate(await saveProfile(form)));
      setStatus({ kind: "saved", text: "Profile saved." });
    } catch (err) {
      setStatus({ kind: "error", text: err instanceof ApiError ? err.message : "Saving failed; try again." });
    } finally {
      setBusy(false);
    }
  };
  const setLevel = (subject: string, level: string) => {
    const levels = { ...form.levels };
    if (level) levels[subject] = level as (typeof LEVELS)[number];
    else delete levels[subject];
    setForm({ ...form, levels });
  };

  return (
    <form className="profile" onSubmit={submit} aria-describedby="profile-status">
      <div className="field">
        <label htmlFor="p-name">Display name</label>
        <input id="p-name" required maxLength={64} value={form.display_name}
          onChange={(e) => setForm({ ...form, display_name: e.target.value })} />
      </div>
      <div className="field">
        <label htmlFor="p-language">Preferred language</label>
        <select id="p-language" value={form.preferred_language ?? ""}
          onChange={(e) => setForm({ ...form, preferred_language: (e.target.value || null) as Language | null })}>
          <option value="">No preference</option>
          {languages.map((code) => (
            <option key={code} value={code}>{languageName(code)}</option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="p-goals">Your goals</label>
        <textarea id="p-goals" rows={3} maxLength={MAX_GOALS} value={form.goals}
          aria-describedby="p-goals-hint" onChange={(e) => setForm({ ...form, goals: e.target.value })} />
        <p id="p-goals-hint" className="hint">
          {(form.goals ?? "").length} / {MAX_GOALS} characters. Your tutors read this.
        </p>
      </div>
      {subjects.length > 0 && (
        <fieldset>
          <legend>Your level per subject</legend>
          {subjects.map((subject) => (
            <div className="field" key={subject}>
              <label htmlFor={`p-level-${subject}`}>{subject}</label>
              <select id={`p-level-${subject}`} value={form.levels?.[subject] ?? ""}
                onChange={(e) => setLevel(subject, e.target.value)}>
                <option value="">Not set</option>
                {LEVELS.map((l) => (
                  <option key={l} value={l}>{l}</option>
                ))}
              </select>
            </div>
          ))}
        </fieldset>
      )}
      <div className="field checkbox">
        <input id="p-memory" type="checkbox" checked={form.memory ?? true}
          aria-describedby="p-memory-hint" onChange={(e) => setForm({ ...form, memory: e.target.checked })} />
        <label htmlFor="p-memory">Tutors remember my earlier sessions</label>
        <p id="p-memory-hint" className="hint">
          When on, a new session with a tutor starts from the summaries of your last sessions with that tutor.
        </p>
      </div>
      <button type="submit" className="primary" disabled={busy}>Save profile</button>
      <p id="profile-status" role="status" className={status?.kind === "error" ? "error" : undefined}>
        {status?.text}
      </p>
    </form>
  );
}

function DataRights({ onErased }: { onErased: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const download = async () => {
    try {
      downloadJson(await fetchExport(), "holo-tutor-my-data.json");
      setMessage("Your data was downloaded.");
    } catch (err) {
      setMessage(err instanceof Error ? err.message : "The download failed.");
    }
  };
  const erase = async () => {
    try {
      await eraseMe();
      setConfirming(false);
      setMessage("Everything stored about you was erased.");
      onErased();
    } catch (err) {
      setMessage(err instanceof Error ? err.message : "Erasing failed; try again.");
    }
  };
  return (
    <section aria-labelledby="data-title" className="panel data-rights">
      <h2 id="data-title">Your data</h2>
      <p>Download everything we store about you, or erase it: sessions, transcripts, summaries, progress and audio.</p>
      <div className="row">
        <button type="button" onClick={download}>Download my data</button>
        {!confirming && (
          <button type="button" className="danger" onClick={() => setConfirming(true)}>Erase my data…</button>
        )}
      </div>
      {confirming && (
        <div role="alertdialog" aria-labelledby="erase-q" className="confirm">
          <p id="erase-q">Erase everything? Rooms you are in are ended first. This cannot be undone.</p>
          <div className="row">
            <button type="button" className="danger" onClick={erase}>Yes, erase everything</button>
            <button type="button" onClick={() => setConfirming(false)}>Cancel</button>
          </div>
        </div>
      )}
      <p role="status">{message}</p>
    </section>
  );
}
