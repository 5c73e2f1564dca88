import { render, screen } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { TranscriptPage } from "./TranscriptPage";

const json = (body: unknown, status = 200) =>
  Promise.resolve(new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } }));

function renderAt(path: string) {
  render(
    <MemoryRouter initialEntries={[path]}>
      <Routes>
        <Route path="/history/:sessionId" element={<TranscriptPage />} />
      </Routes>
    </MemoryRouter>,
  );
}

afterEach(() => vi.unstubAllGlobals());

describe("TranscriptPage", () => {
  it("shows who said what, with the session's companion and length", async () => {
    vi.stubGlobal("fetch", (url: string) => {
      if (url === "/api/sessions/s1") {
        return json({
          session_id: "s1", room_id: "r", owner_id: "u", companion_id: "ada-math", participants: ["u"],
          started_at: 1_700_000_000, ended_at: 1_700_000_090, duration_seconds: 90, message_count: 2,
          transcript_preview: "",
        });
      }
      if (url === "/api/sessions/s1/transcript") {
        return json({
          session_id: "s1",
          messages: [
            { id: "1", room_id: "r", ts: 1, text: "What is 2+2?", sender: { kind: "user", user_id: "u", display_name: "Lena" } },
            { id: "2", room_id: "r", ts: 2, text: "Four.", sender: { kind: "ai", display_name: "Ada" } },
          ],
        });
      }
      return json({ companions: [{ id: "ada-math", name: "Ada" }] });
    });
    renderAt("/history/s1");
    expect(await screen.findByRole("heading", { name: "Session with Ada" })).toBeInTheDocument();
    expect(screen.getByText(/1 min · 2 messages/)).toBeInTheDocument();
    const transcript = screen.getByTestId("transcript");
    expect(transcript).toHaveTextContent("LenaWhat is 2+2?");
    expect(transcript).toHaveTextContent("AdaFour.");
  });

  it("says when a session is not in your history", async () => {
    vi.stubGlobal("fetch", () =>
      json({ error: { code: "session_not_found", message: "No such session in your history." } }, 404),
    );
    renderAt("/history/nope");
    expect(await screen.findByRole("alert")).toHaveTextContent("No such session in your history.");
  });
});
