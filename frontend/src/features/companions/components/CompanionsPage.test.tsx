import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Companion } from "@/shared/api/types";
import { CompanionsPage } from "./CompanionsPage";

const ada: Companion = {
  id: "ada-math",
  name: "Ada",
  subject: "mathematics",
  level: "secondary",
  languages: ["en"],
  tagline: "Algebra and geometry.",
  avatar_url: "/api/companions/ada-math/avatar.svg",
  color: "#3b5bdb",
};

const json = (body: unknown, status = 200) =>
  Promise.resolve(new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } }));

function renderPage() {
  render(
    <MemoryRouter initialEntries={["/"]}>
      <Routes>
        <Route path="/" element={<CompanionsPage />} />
        <Route path="/rooms/:roomId" element={<p>in the room</p>} />
      </Routes>
    </MemoryRouter>,
  );
}

afterEach(() => vi.unstubAllGlobals());

describe("CompanionsPage", () => {
  it("shows loading, then the tutors; choosing one opens a room", async () => {
    const fetchMock = vi.fn((_url: string, init?: RequestInit) => {
      if (init?.method === "POST") {
        return json({ room_id: "room-1", invite_token: "t", invite_url: "http://x/rooms/room-1?invite=t" }, 201);
      }
      return json({ companions: [ada] });
    });
    vi.stubGlobal("fetch", fetchMock);
    renderPage();
    expect(screen.getByText("Loading tutors…")).toBeInTheDocument();
    const start = await screen.findByRole("button", { name: "Start a session with Ada, mathematics" });
    expect(screen.getByText("Algebra and geometry.")).toBeInTheDocument();
    await userEvent.click(start);
    expect(await screen.findByText("in the room")).toBeInTheDocument();
    expect(localStorage.getItem("holo.invite.room-1")).toBe("http://x/rooms/room-1?invite=t");
  });

  it("shows an empty state when nothing matches, and filters through the API", async () => {
    const fetchMock = vi.fn((url: string) =>
      json({ companions: url.includes("q=") ? [] : [ada] }),
    );
    vi.stubGlobal("fetch", fetchMock);
    renderPage();
    await screen.findByText("Algebra and geometry.");
    await userEvent.type(screen.getByLabelText("Search"), "zebra");
    expect(await screen.findByText("No tutor matches these filters.")).toBeInTheDocument();
    expect(fetchMock).toHaveBeenCalledWith("/api/companions?q=zebra", expect.anything());
  });

  it("shows an error with a retry", async () => {
    let fail = true;
    vi.stubGlobal(
      "fetch",
      vi.fn(() =>
        fail
          ? json({ error: { code: "unavailable", message: "Down for a moment." } }, 503)
          : json({ companions: [ada] }),
      ),
    );
    renderPage();
    expect(await screen.findByText(/Down for a moment/)).toBeInTheDocument();
    fail = false;
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    await waitFor(() => expect(screen.getByText("Algebra and geometry.")).toBeInTheDocument());
  });
});
