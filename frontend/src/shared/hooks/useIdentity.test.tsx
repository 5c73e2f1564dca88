import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { act } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { reportUnauthorized } from "@/shared/lib/identity";
import { IdentityProvider, useIdentity } from "./useIdentity";

function Who() {
  return <p>signed in as {useIdentity().display_name}</p>;
}

let n = 0;
const issue = vi.fn(async (_url: string, init?: RequestInit) => {
  const { display_name } = JSON.parse(String(init?.body));
  n += 1;
  return new Response(
    JSON.stringify({ token: `t${n}`, user_id: `u${n}`, display_name, expires_at: Date.now() / 1000 + 3600 }),
    { status: 201, headers: { "Content-Type": "application/json" } },
  );
});

afterEach(() => vi.unstubAllGlobals());

describe("IdentityProvider", () => {
  it("asks for a name once, keeps the token across reloads, renews a refused one", async () => {
    vi.stubGlobal("fetch", issue);
    const first = render(
      <IdentityProvider>
        <Who />
      </IdentityProvider>,
    );
    await userEvent.type(screen.getByLabelText("Your name"), "Lena");
    await userEvent.click(screen.getByRole("button", { name: "Continue" }));
    expect(await screen.findByText("signed in as Lena")).toBeInTheDocument();
    first.unmount();

    // A reload: no question asked.
    render(
      <IdentityProvider>
        <Who />
      </IdentityProvider>,
    );
    expect(screen.getByText("signed in as Lena")).toBeInTheDocument();
    const calls = issue.mock.calls.length;

    // The server refused the token: a new one for the same name, without asking.
    act(() => reportUnauthorized());
    expect(await screen.findByText("signed in as Lena")).toBeInTheDocument();
    expect(issue.mock.calls.length).toBe(calls + 1);
    expect(JSON.parse(localStorage.getItem("holo.identity")!).token).toBe(`t${n}`);
  });
});
