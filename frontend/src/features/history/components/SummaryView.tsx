import type { SessionSummary } from "@/shared/api/types";

/** A session's summary, or (none written) why not; always with its label. */
export function SummaryView({ summary }: { summary: SessionSummary }) {
  if (summary.status !== "ready") return <p className="summary-label">{summary.label}</p>;
  return (
    <div className="summary">
      {summary.topics && summary.topics.length > 0 && (
        <p><strong>Worked on:</strong> {summary.topics.join("; ")}</p>
      )}
      {summary.went_well && <p><strong>Went well:</strong> {summary.went_well}</p>}
      {summary.practise_next && <p><strong>Practise next:</strong> {summary.practise_next}</p>}
      <p className="summary-label">{summary.label}</p>
    </div>
  );
}
