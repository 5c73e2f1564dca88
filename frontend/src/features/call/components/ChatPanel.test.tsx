import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { Message } from "@/shared/api/types";
import { ChatPanel } from "./ChatPanel";

const mine: Message = {
  id: "m1",
  seq: 1,
  room_id: "r",
  sender: { kind: "user", user_id: "me", display_name: "Lena" },
  text: "What is a fraction?",
  ts: 1,
  client_id: "c1",
};

function renderPanel(over: Partial<Parameters<typeof ChatPanel>[0]> = {}) {
  const props = {
    messages: [mine],
    pending: [],
    drafts: [],
    tutorName: "Ada",
    myUserId: "me",
    canSend: true,
    replying: false,
    onSend: vi.fn(),
    onRetry: vi.fn(),
    onStop: vi.fn(),
    ...over,
  };
  render(<ChatPanel {...props} />);
  return props;
}

describe("ChatPanel", () => {
  it("sends with Enter and clears the box", async () => {
    const props = renderPanel();
    const box = screen.getByLabelText("Message");
    await userEvent.type(box, "Hello{Enter}");
    expect(props.onSend).toHaveBeenCalledWith("Hello");
    expect(box).toHaveValue("");
  });

  it("shows our own message as 'You'", () => {
    renderPanel();
    expect(screen.getByText("You")).toBeInTheDocument();
    expect(screen.getAllByText("What is a fraction?")).toHaveLength(1);
  });

  it("shows a streaming reply and a Stop button while the tutor replies", async () => {
    const props = renderPanel({
      drafts: [{ reply_id: "r1", text: "Great question", stopped: false }],
      replying: true,
    });
    expect(screen.getByText("Great question")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Stop Ada" }));
    expect(props.onStop).toHaveBeenCalledOnce();
  });

  it("offers a retry for a message that did not go out", async () => {
    const failed = { client_id: "c2", text: "Lost", status: "failed" as const, error: "offline" };
    const props = renderPanel({ pending: [failed] });
    expect(screen.getByText(/Not sent: offline/)).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Retry" }));
    expect(props.onRetry).toHaveBeenCalledWith(failed);
  });

  it("cannot send before joining", () => {
    renderPanel({ canSend: false });
    expect(screen.getByRole("button", { name: "Send" })).toBeDisabled();
  });
});
