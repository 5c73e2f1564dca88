import { render, screen, within } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ProgressPage } from "./ProgressPage";

const json = (body: unknown) =>
  Promise.resolve(new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json" } }));

afterEach(() => vi.unstubAllGlobals());

const PROGRESS = {
  companions: [
    {
      companion_id: "ada-math", companion_name: "Ada", subject: "mathematics", sessions: 3,
      minutes: 42.5, messages: 17, last_session_at: 1_764_600_000,
      topics: [{ topic: "linear equations", sessions: 2 }, { topic: "fractions", sessions: 1 }],
    },
  ],
  subjects: [{ subject: "mathematics", sessions: 3, minutes: 42.5, messages: 17, last_session_at: 1_764_600_000 }],
  weekly_streak: 2,
  active_weeks: ["2026-W48", "2026-W49"],
};

describe("ProgressPage", () => {
  it("shows the streak, a chart, and the same numbers in tables", async () => {
    vi.stubGlobal("fetch", vi.fn(() => json(PROGRESS)));
    render(
      <MemoryRouter>
        <ProgressPage />
      </MemoryRouter>,
    );
    expect(await screen.findByText("2 weeks")).toBeInTheDocument();
    expect(screen.getByRole("figure", { name: /Minutes and sessions per tutor/ })).toBeInTheDocument();
    const perTutor = screen.getByRole("table", { name: "Per tutor" });
    const ada = within(perTutor).getByRole("row", { name: /Ada/ });
    for (const cell of ["mathematics", "3", "42.5", "17", "linear equations; fractions"]) {
      expect(within(ada).getByRole("cell", { name: cell })).toBeInTheDocument();
    }
    const perSubject = screen.getByRole("table", { name: "Per subject" });
    expect(within(perSubject).getByRole("rowheader", { name: "mathematics" })).toBeInTheDocument();
  });

  it("invites a new learner to start", async () => {
    vi.stubGlobal("fetch", vi.fn(() => json({ companions: [], subjects: [], weekly_streak: 0, active_weeks: [] })));
    render(
      <MemoryRouter>
        <ProgressPage />
      </MemoryRouter>,
    );
    expect(await screen.findByText(/No sessions yet/)).toBeInTheDocument();
  });
});
