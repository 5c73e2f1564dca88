import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { AskButton } from "./AskButton";

describe("AskButton", () => {
  it("stops asking when the button goes away, is disabled (muted) or loses focus while held", () => {
    const onAsk = vi.fn();
    const { rerender, unmount } = render(<AskButton tutorName="Ada" onAsk={onAsk} />);
    const button = screen.getByRole("button", { name: "Ask Ada" });
    expect(button).toHaveAccessibleDescription("Hold to talk to Ada");

    fireEvent.pointerDown(button, { pointerId: 1 });
    rerender(<AskButton tutorName="Ada" onAsk={onAsk} disabled />);
    expect(onAsk.mock.calls).toEqual([[true], [false]]);

    rerender(<AskButton tutorName="Ada" onAsk={onAsk} />);
    fireEvent.keyDown(button, { key: "Enter" });
    fireEvent.blur(button);
    expect(onAsk.mock.calls.slice(2)).toEqual([[true], [false]]);

    fireEvent.pointerDown(button, { pointerId: 1 });
    unmount();
    expect(onAsk.mock.calls.slice(4)).toEqual([[true], [false]]);
  });
});
