import { Link, useParams } from "react-router-dom";
import { useAsync } from "@/shared/hooks/useAsync";
import { SummaryView } from "./SummaryView";
import { fetchCatalogue, fetchSession, fetchTranscript, formatDuration, formatWhen } from "../api/sessions";

export function TranscriptPage() {
  const { sessionId = "" } = useParams();
  const data = useAsync(
    async (signal) => {
      const [session, transcript, catalogue] = await Promise.all([
        fetchSession(sessionId, signal),
        fetchTranscript(sessionId, signal),
        fetchCatalogue(signal).catch(() => []),
      ]);
      return { session, transcript, companion: catalogue.find((c) => c.id === session.companion_id) };
    },
    [sessionId],
  );

  return (
    <main className="page" aria-labelledby="transcript-title">
      <p>
        <Link to="/history">← All sessions</Link>
      </p>
      {data.status === "loading" && <p className="loading">Loading the transcript…</p>}
      {data.status === "error" && (
        <div role="alert" className="error">
          <h1 id="transcript-title">Transcript unavailable</h1>
          <p>{data.error.message}</p>
        </div>
      )}
      {data.data && (
        <>
          <h1 id="transcript-title">
            Session with {data.data.companion?.name ?? data.data.session.companion_id}
          </h1>
          <p className="meta">
            {formatWhen(data.data.session.started_at)} · {formatDuration(data.data.session.duration_seconds)} ·{" "}
            {data.data.session.message_count} messages
          </p>
          {data.data.session.summary && (
            <section aria-labelledby="summary-title" className="panel">
              <h2 id="summary-title">Summary</h2>
              <SummaryView summary={data.data.session.summary} />
            </section>
          )}
          {data.data.transcript.messages.length === 0 ? (
            <p className="empty">Nothing was said in this session.</p>
          ) : (
            <ol className="messages transcript" data-testid="transcript">
              {data.data.transcript.messages.map((m) => (
                <li key={m.id} className={`msg ${m.sender.kind === "ai" ? "msg-ai" : "msg-user"}`}>
                  <span className="who">{m.sender.display_name}</span>
                  <span className="text">{m.text}</span>
                </li>
              ))}
            </ol>
          )}
        </>
      )}
    </main>
  );
}
