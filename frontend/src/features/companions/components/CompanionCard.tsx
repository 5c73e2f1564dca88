import type { Companion } from "@/shared/api/types";

import { languageName } from "@/shared/lib/languages";

export { languageName };

interface Props {
  companion: Companion;
  busy: boolean;
  onChoose: (c: Companion) => void;
}

export function CompanionCard({ companion: c, busy, onChoose }: Props) {
  return (
    <li className="card" style={{ borderTopColor: c.color }}>
      <img src={c.avatar_url} alt="" width={64} height={64} className="avatar" />
      <h2 className="card-title">{c.name}</h2>
      <p className="card-subject">
        {c.subject} · <span className="level">{c.level}</span>
      </p>
      <p className="card-languages">{c.languages.map(languageName).join(", ")}</p>
      <p className="tagline">{c.tagline}</p>
      <button
        type="button"
        className="primary"
        disabled={busy}
        onClick={() => onChoose(c)}
        aria-label={`Start a session with ${c.name}, ${c.subject}`}
      >
        {busy ? "Opening…" : `Start with ${c.name}`}
      </button>
    </li>
  );
}
