import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { CallControls } from "./CallControls";
import { ConnectionStatus } from "./ConnectionStatus";
import { InviteLink } from "./InviteLink";
import { NoticeList } from "./NoticeList";
import { Participants } from "./Participants";

describe("ConnectionStatus", () => {
  it("says where the call is in plain words, politely announced", () => {
    const { rerender } = render(<ConnectionStatus state="waiting" />);
    expect(screen.getByRole("status")).toHaveTextContent("Waiting for someone to join");
    rerender(<ConnectionStatus state="reconnecting" />);
    expect(screen.getByRole("status")).toHaveTextContent("Connection lost — reconnecting…");
    rerender(<ConnectionStatus state="failed" />);
    expect(screen.getByRole("status")).toHaveTextContent(/failed — trying again/);
  });
});

describe("CallControls", () => {
  const base = {
    muted: false, cameraOff: false, sharing: false, speakerOn: true, mediaReady: true, isOwner: true,
    onToggleMute: vi.fn(), onToggleCamera: vi.fn(), onToggleShare: vi.fn(), onToggleSpeaker: vi.fn(),
    onEnd: vi.fn(),
  };

  it("labels each button with what it does, and works from the keyboard", async () => {
    render(<CallControls {...base} />);
    expect(screen.getByRole("toolbar", { name: "Call controls" })).toBeInTheDocument();
    await userEvent.tab();
    expect(screen.getByRole("button", { name: "Mute" })).toHaveFocus();
    await userEvent.keyboard("{Enter}");
    expect(base.onToggleMute).toHaveBeenCalledOnce();
    for (const name of ["Turn camera off", "Share screen", "Turn tutor voice off", "End session"]) {
      expect(screen.getByRole("button", { name })).toBeEnabled();
    }
  });

  it("shows the other state's action, and Leave for an invitee", () => {
    render(<CallControls {...base} muted cameraOff sharing speakerOn={false} isOwner={false} />);
    for (const name of ["Unmute", "Turn camera on", "Stop sharing", "Turn tutor voice on", "Leave call"]) {
      expect(screen.getByRole("button", { name })).toBeInTheDocument();
    }
  });

  it("disables mute and camera without a camera", () => {
    render(<CallControls {...base} mediaReady={false} />);
    expect(screen.getByRole("button", { name: "Mute" })).toBeDisabled();
    expect(screen.getByRole("button", { name: "Share screen" })).toBeEnabled();
  });
});

describe("NoticeList", () => {
  it("shows provider errors as alerts and other notices as status, dismissable", async () => {
    const onDismiss = vi.fn();
    render(
      <NoticeList
        notices={[
          { key: 1, code: "voice_unavailable", message: "Voice is unavailable right now.", kind: "info" },
          { key: 2, code: "upstream_error", message: "The tutor is unavailable.", kind: "error" },
        ]}
        onDismiss={onDismiss}
      />,
    );
    expect(screen.getByRole("alert")).toHaveTextContent("The tutor is unavailable.");
    expect(screen.getByRole("status")).toHaveTextContent("Voice is unavailable right now.");
    await userEvent.click(screen.getByRole("button", { name: "Dismiss: The tutor is unavailable." }));
    expect(onDismiss).toHaveBeenCalledWith(2);
  });
});

describe("Participants", () => {
  it("lists each person once (a reconnect can briefly show two sockets) and the tutor", () => {
    render(
      <Participants
        me="Lena"
        peers={[
          { sid: "old", user_id: "u2", display_name: "Ivan" },
          { sid: "new", user_id: "u2", display_name: "Ivan" },
        ]}
        companion={{ name: "Ada" } as never}
      />,
    );
    const items = screen.getAllByRole("listitem").map((li) => li.textContent);
    expect(items).toEqual(["Lena (you)", "Ivan", "Ada (AI tutor)"]);
  });
});

describe("InviteLink", () => {
  it("copies the link, and falls back to selecting it", async () => {
    const writeText = vi.fn().mockRejectedValue(new Error("denied"));
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    render(<InviteLink url="http://localhost/rooms/r1?invite=t" />);
    expect(screen.getByLabelText("Invite link for a second person")).toHaveValue(
      "http://localhost/rooms/r1?invite=t",
    );
    await userEvent.click(screen.getByRole("button", { name: "Copy invite link" }));
    expect(writeText).toHaveBeenCalledWith("http://localhost/rooms/r1?invite=t");
    expect(await screen.findByText(/Press Ctrl\+C/)).toBeInTheDocument();
  });
});
