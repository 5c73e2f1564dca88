import { Bar, BarChart, CartesianGrid, Legend, Tooltip, XAxis, YAxis } from "recharts";
import { Link } from "react-router-dom";
import type { CompanionProgress, Progress } from "@/shared/api/types";
import { useAsync } from "@/shared/hooks/useAsync";
import { fetchProgress } from "../api/me";

const when = (unix?: number | null) =>
  unix ? new Date(unix * 1000).toLocaleDateString(undefined, { dateStyle: "medium" }) : "—";

export function ProgressPage() {
  const progress = useAsync((signal) => fetchProgress(signal), []);
  return (
    <main className="page" aria-labelledby="progress-title">
      <h1 id="progress-title">Your progress</h1>
      <div aria-live="polite" aria-busy={progress.status === "loading"}>
        {progress.status === "loading" && <p className="loading">Loading your progress…</p>}
        {progress.status === "error" && (
          <div role="alert" className="error">
            <p>We could not load your progress: {progress.error.message}</p>
            <button type="button" onClick={progress.reload}>Try again</button>
          </div>
        )}
        {progress.data?.companions.length === 0 && (
          <p className="empty">
            No sessions yet. <Link to="/">Choose a tutor</Link> to start one.
          </p>
        )}
      </div>
      {progress.data && progress.data.companions.length > 0 && <ProgressView progress={progress.data} />}
    </main>
  );
}

function ProgressView({ progress }: { progress: Progress }) {
  const weeks = progress.weekly_streak;
  return (
    <>
      <p className="streak">
        <strong>{weeks} {weeks === 1 ? "week" : "weeks"}</strong> in a row with a session.
      </p>
      <figure className="chart" aria-labelledby="chart-caption">
        <figcaption id="chart-caption">Minutes and sessions per tutor (the same numbers are in the table below)</figcaption>
        <MinutesChart companions={progress.companions} />
      </figure>
      <table className="numbers">
        <caption>Per tutor</caption>
        <thead>
          <tr>
            <th scope="col">Tutor</th>
            <th scope="col">Subject</th>
            <th scope="col">Sessions</th>
            <th scope="col">Minutes</th>
            <th scope="col">Your messages</th>
            <th scope="col">Last session</th>
            <th scope="col">Topics practised</th>
          </tr>
        </thead>
        <tbody>
          {progress.companions.map((c) => (
            <tr key={c.companion_id}>
              <th scope="row">{c.companion_name}</th>
              <td>{c.subject}</td>
              <td>{c.sessions}</td>
              <td>{c.minutes}</td>
              <td>{c.messages}</td>
              <td>{when(c.last_session_at)}</td>
              <td>{c.topics.map((t) => t.topic).join("; ") || "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <table className="numbers">
        <caption>Per subject</caption>
        <thead>
          <tr>
            <th scope="col">Subject</th>
            <th scope="col">Sessions</th>
            <th scope="col">Minutes</th>
            <th scope="col">Your messages</th>
            <th scope="col">Last session</th>
          </tr>
        </thead>
        <tbody>
          {progress.subjects.map((s) => (
            <tr key={s.subject}>
              <th scope="row">{s.subject}</th>
              <td>{s.sessions}</td>
              <td>{s.minutes}</td>
              <td>{s.messages}</td>
              <td>{when(s.last_session_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function MinutesChart({ companions }: { companions: CompanionProgress[] }) {
  const data = companions.map((c) => ({ name: c.companion_name, minutes: c.minutes, sessions: c.sessions }));
  return (
    <BarChart width={Math.max(320, 140 * data.length)} height={240} data={data} accessibilityLayer
      title="Minutes and sessions per tutor" desc="Bar chart; the table below has the same numbers.">
      <CartesianGrid strokeDasharray="3 3" />
      <XAxis dataKey="name" />
      <YAxis allowDecimals={false} />
      <Tooltip />
      <Legend />
      <Bar dataKey="minutes" name="Minutes" fill="#3b5bdb" />
      <Bar dataKey="sessions" name="Sessions" fill="#2b8a3e" />
    </BarChart>
  );
}
