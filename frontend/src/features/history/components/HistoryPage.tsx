import { Link } from "react-router-dom";
import { useAsync } from "@/shared/hooks/useAsync";
import { SummaryView } from "./SummaryView";
import { fetchCatalogue, fetchSessions, formatDuration, formatWhen } from "../api/sessions";

export function HistoryPage() {
  const sessions = useAsync((signal) => fetchSessions(signal), []);
  const catalogue = useAsync((signal) => fetchCatalogue(signal), []);
  const nameOf = (id: string) => catalogue.data?.find((c) => c.id === id)?.name ?? id;

  return (
    <main className="page" aria-labelledby="history-title">
      <h1 id="history-title">Past sessions</h1>
      <div aria-live="polite" aria-busy={sessions.status === "loading"}>
        {sessions.status === "loading" && <p className="loading">Loading your sessions…</p>}
        {sessions.status === "error" && (
          <div role="alert" className="error">
            <p>We could not load your sessions: {sessions.error.message}</p>
            <button type="button" onClick={sessions.reload}>Try again</button>
          </div>
        )}
        {sessions.data?.length === 0 && (
          <p className="empty">
            No sessions yet. <Link to="/">Choose a tutor</Link> to start one.
          </p>
        )}
        {sessions.data && sessions.data.length > 0 && (
          <ul className="sessions" data-testid="sessions">
            {sessions.data.map((s) => (
              <li key={s.session_id} className="session">
                <h2>
                  <Link to={`/history/${s.session_id}`}>
                    {nameOf(s.companion_id)} · {formatWhen(s.started_at)}
                  </Link>
                </h2>
                <p className="meta">
                  {formatDuration(s.duration_seconds)} · {s.message_count}{" "}
                  {s.message_count === 1 ? "message" : "messages"}
                </p>
                {s.summary ? <SummaryView summary={s.summary} /> : (
                  s.transcript_preview && <p className="preview">{s.transcript_preview}</p>
                )}
              </li>
            ))}
          </ul>
        )}
      </div>
    </main>
  );
}
