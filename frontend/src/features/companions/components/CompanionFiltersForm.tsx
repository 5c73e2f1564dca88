import type { CompanionFilters } from "../api/companions";

import type { Companion } from "@/shared/api/types";
import { languageName } from "./CompanionCard";

const LEVEL_ORDER = ["primary", "beginner", "secondary", "intermediate", "university", "advanced"];

/** The choices come from the catalogue itself, so a filter never offers an empty answer. */
export function filterOptions(all: Companion[]) {
  const uniq = (xs: string[]) => [...new Set(xs)];
  return {
    subjects: uniq(all.map((c) => c.subject)).sort(),
    levels: uniq(all.map((c) => c.level)).sort((a, b) => LEVEL_ORDER.indexOf(a) - LEVEL_ORDER.indexOf(b)),
    languages: uniq(all.flatMap((c) => c.languages)).sort((a, b) => languageName(a).localeCompare(languageName(b))),
  };
}

interface Props {
  value: CompanionFilters;
  onChange: (f: CompanionFilters) => void;
  catalogue: Companion[];
}

export function CompanionFiltersForm({ value, onChange, catalogue }: Props) {
  const { subjects: SUBJECTS, levels: LEVELS, languages } = filterOptions(catalogue);
  const LANGUAGES = languages.map((code) => [code, languageName(code)] as const);
  const set = (key: keyof CompanionFilters) => (e: { target: { value: string } }) =>
    onChange({ ...value, [key]: e.target.value });
  return (
    <form className="filters" role="search" aria-label="Find a tutor" onSubmit={(e) => e.preventDefault()}>
      <div className="field grow">
        <label htmlFor="f-q">Search</label>
        <input id="f-q" type="search" placeholder="Name, topic…" value={value.q} onChange={set("q")} />
      </div>
      <div className="field">
        <label htmlFor="f-subject">Subject</label>
        <select id="f-subject" value={value.subject} onChange={set("subject")}>
          <option value="">Any subject</option>
          {SUBJECTS.map((s) => (
            <option key={s} value={s}>{s}</option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="f-level">Level</label>
        <select id="f-level" value={value.level} onChange={set("level")}>
          <option value="">Any level</option>
          {LEVELS.map((l) => (
            <option key={l} value={l}>{l}</option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="f-language">Language</label>
        <select id="f-language" value={value.language} onChange={set("language")}>
          <option value="">Any language</option>
          {LANGUAGES.map(([code, name]) => (
            <option key={code} value={code}>{name}</option>
          ))}
        </select>
      </div>
    </form>
  );
}
