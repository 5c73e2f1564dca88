import { useEffect, useState } from "react";
import { useNavigate } from "react-router-dom";
import { ApiError } from "@/shared/api/client";
import type { Companion } from "@/shared/api/types";
import { useAsync } from "@/shared/hooks/useAsync";
import { createRoom, rememberInvite, roomPath } from "@/shared/api/rooms";
import { fetchCompanions, noFilters, type CompanionFilters } from "../api/companions";
import { CompanionCard } from "./CompanionCard";
import { CompanionFiltersForm } from "./CompanionFiltersForm";

/** Debounce typing in the search box. */
function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return debounced;
}

export function CompanionsPage() {
  const navigate = useNavigate();
  const [filters, setFilters] = useState<CompanionFilters>(noFilters);
  const query = useDebounced(filters, 250);
  const list = useAsync((signal) => fetchCompanions(query, signal), [JSON.stringify(query)]);
  const all = useAsync((signal) => fetchCompanions(noFilters, signal), []);
  const [opening, setOpening] = useState<string | null>(null);
  const [openError, setOpenError] = useState<string | null>(null);

  const choose = async (c: Companion) => {
    setOpening(c.id);
    setOpenError(null);
    try {
      const room = await createRoom(c.id);
      rememberInvite(room.room_id, room.invite_url);
      navigate(roomPath(room.room_id));
    } catch (err) {
      setOpenError(err instanceof ApiError ? err.message : "Could not open a room; try again.");
      setOpening(null);
    }
  };

  return (
    <main className="page" aria-labelledby="companions-title">
      <h1 id="companions-title">Choose your tutor</h1>
      <CompanionFiltersForm value={filters} onChange={setFilters} catalogue={all.data ?? []} />
      {openError && (
        <p role="alert" className="error">
          {openError}
        </p>
      )}
      <div aria-live="polite" aria-busy={list.status === "loading"}>
        {list.status === "loading" && !list.data && <p className="loading">Loading tutors…</p>}
        {list.status === "error" && (
          <div role="alert" className="error">
            <p>We could not load the tutors: {list.error.message}</p>
            <button type="button" onClick={list.reload}>
              Try again
            </button>
          </div>
        )}
        {list.data && list.data.length === 0 && (
          <div className="empty">
            <p>No tutor matches these filters.</p>
            <button type="button" onClick={() => setFilters(noFilters)}>
              Clear filters
            </button>
          </div>
        )}
        {list.data && list.data.length > 0 && (
          <ul className="grid" aria-label="Tutors" data-testid="companion-grid">
            {list.data.map((c) => (
              <CompanionCard key={c.id} companion={c} busy={opening !== null} onChoose={(x) => void choose(x)} />
            ))}
          </ul>
        )}
      </div>
    </main>
  );
}
