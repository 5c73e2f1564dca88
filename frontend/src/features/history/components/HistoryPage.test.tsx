import { render, screen } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { HistoryPage } from "./HistoryPage";

const json = (body: unknown) =>
  Promise.resolve(new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json" } }));

afterEach(() => vi.unstubAllGlobals());

describe("HistoryPage", () => {
  it("lists sessions with companion, duration, message count and preview", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn((url: string) =>
        url === "/api/sessions"
          ? json({
              sessions: [
                {
                  session_id: "s1", room_id: "r1", owner_id: "u", companion_id: "ada-math",
                  participants: ["u"], started_at: 1_700_000_000, ended_at: 1_700_000_600,
                  duration_seconds: 600, message_count: 4, transcript_preview: "Lena: hi Ada",
                },
              ],
            })
          : json({ companions: [{ id: "ada-math", name: "Ada" }] }),
      ),
    );
    render(
      <MemoryRouter>
        <HistoryPage />
      </MemoryRouter>,
    );
    const link = await screen.findByRole("link", { name: /Ada ·/ });
    expect(link).toHaveAttribute("href", "/history/s1");
    expect(screen.getByText("10 min · 4 messages")).toBeInTheDocument();
    expect(screen.getByText("Lena: hi Ada")).toBeInTheDocument();
  });

  it("shows a session's summary, labelled, instead of the preview", async () => {
    const summary = {
      status: "ready", source: "learner_messages", topics: ["What is a prime number?"],
      went_well: "You wrote 1 message.", practise_next: "Continue from your last message.",
      label: "Offline tutor: no AI model wrote this.", written_at: 1_700_000_700,
    };
    vi.stubGlobal(
      "fetch",
      vi.fn((url: string) =>
        url === "/api/sessions"
          ? json({
              sessions: [
                {
                  session_id: "s1", room_id: "r1", owner_id: "u", companion_id: "ada-math",
                  participants: ["u"], started_at: 1_700_000_000, ended_at: 1_700_000_600,
                  duration_seconds: 600, message_count: 2, transcript_preview: "Ann: hi", summary,
                },
              ],
            })
          : json({ companions: [] }),
      ),
    );
    render(
      <MemoryRouter>
        <HistoryPage />
      </MemoryRouter>,
    );
    expect(await screen.findByText("What is a prime number?")).toBeInTheDocument();
    expect(screen.getByText("Offline tutor: no AI model wrote this.")).toBeInTheDocument();
    expect(screen.queryByText("Ann: hi")).not.toBeInTheDocument();
  });

  it("says so when there is no history yet", async () => {
    vi.stubGlobal("fetch", vi.fn((url: string) => json(url === "/api/sessions" ? { sessions: [] } : { companions: [] })));
    render(
      <MemoryRouter>
        <HistoryPage />
      </MemoryRouter>,
    );
    expect(await screen.findByText(/No sessions yet/)).toBeInTheDocument();
  });
});
