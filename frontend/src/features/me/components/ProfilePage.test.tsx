import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ProfilePage } from "./ProfilePage";

const json = (body: unknown, status = 200) =>
  Promise.resolve(new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } }));

const PROFILE = { user_id: "u1", display_name: "Ann", goals: "", levels: {}, memory: true };
const CATALOGUE = {
  companions: [
    { id: "ada-math", name: "Ada", subject: "mathematics", languages: ["en"] },
    { id: "sofia-spanish", name: "Sofía", subject: "languages", languages: ["es", "en"] },
  ],
};

function serve(put: (body: Record<string, unknown>) => Promise<Response>) {
  const fetch = vi.fn((url: string, init?: RequestInit) => {
    if (url === "/api/companions") return json(CATALOGUE);
    if (url === "/api/me" && init?.method === "PUT") return put(JSON.parse(String(init.body)));
    if (url === "/api/me" && init?.method === "DELETE") return Promise.resolve(new Response(null, { status: 204 }));
    return json(PROFILE);
  });
  vi.stubGlobal("fetch", fetch);
  return fetch;
}

afterEach(() => vi.unstubAllGlobals());

describe("ProfilePage", () => {
  it("edits and saves the whole profile, with choices from the catalogue", async () => {
    const user = userEvent.setup();
    const sent: Record<string, unknown>[] = [];
    serve((body) => {
      sent.push(body);
      return json({ ...PROFILE, ...body, updated_at: 1 });
    });
    render(<ProfilePage />);
    const goals = await screen.findByLabelText("Your goals");
    await user.type(goals, "Pass algebra");
    await user.selectOptions(screen.getByLabelText("Preferred language"), "Spanish");
    await user.selectOptions(screen.getByLabelText("mathematics"), "secondary");
    await user.click(screen.getByLabelText("Tutors remember my earlier sessions"));
    await user.click(screen.getByRole("button", { name: "Save profile" }));
    expect(await screen.findByText("Profile saved.")).toBeInTheDocument();
    expect(sent).toEqual([
      {
        display_name: "Ann",
        preferred_language: "es",
        goals: "Pass algebra",
        levels: { mathematics: "secondary" },
        memory: false,
      },
    ]);
    expect(screen.getByText("12 / 500 characters. Your tutors read this.")).toBeInTheDocument();
  });

  it("shows the server's reason when the profile is refused", async () => {
    const user = userEvent.setup();
    serve(() => json({ error: { code: "invalid_request", message: "goals: too long" } }, 422));
    render(<ProfilePage />);
    await user.click(await screen.findByRole("button", { name: "Save profile" }));
    expect(await screen.findByText("goals: too long")).toHaveClass("error");
  });

  it("erases the learner's data only after a confirmation", async () => {
    const user = userEvent.setup();
    const fetch = serve(() => json(PROFILE));
    render(<ProfilePage />);
    await user.click(await screen.findByRole("button", { name: "Erase my data…" }));
    expect(fetch.mock.calls.some(([, init]) => init?.method === "DELETE")).toBe(false);
    const dialog = screen.getByRole("alertdialog");
    await user.click(within(dialog).getByRole("button", { name: "Yes, erase everything" }));
    expect(await screen.findByText("Everything stored about you was erased.")).toBeInTheDocument();
    expect(fetch.mock.calls.some(([url, init]) => url === "/api/me" && init?.method === "DELETE")).toBe(true);
  });
});
