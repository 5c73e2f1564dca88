// Push-to-talk with two people in the call: the tutor listens while the button is held (mouse,
// touch, or Space/Enter held down on the focused button).
import { useEffect, useRef, useState } from "react";

interface Props {
  tutorName: string;
  disabled?: boolean;
  onAsk: (active: boolean) => void;
}

export function AskButton({ tutorName, disabled = false, onAsk }: Props) {
  const [held, setHeld] = useState(false);
  const heldRef = useRef(false);
  const latest = useRef(onAsk);
  latest.current = onAsk;

  const set = (active: boolean) => {
    if (heldRef.current === active) return;
    heldRef.current = active;
    setHeld(active);
    latest.current(active);
  };

  // Released by unmounting (the other person left) or disabling: the tutor stops listening.
  useEffect(() => {
    if (disabled && heldRef.current) set(false);
  });
  useEffect(
    () => () => {
      if (heldRef.current) latest.current(false);
    },
    [],
  );

  return (
    <>
    <button
      type="button"
      className={held ? "active ask" : "primary ask"}
      aria-pressed={held}
      aria-describedby="ask-hint"
      disabled={disabled}
      data-testid="ask-tutor"
      onPointerDown={(e) => {
        e.currentTarget.setPointerCapture?.(e.pointerId);
        set(true);
      }}
      onPointerUp={() => set(false)}
      onPointerCancel={() => set(false)}
      onKeyDown={(e) => {
        if ((e.key === " " || e.key === "Enter") && !e.repeat) {
          e.preventDefault();
          set(true);
        }
      }}
      onKeyUp={(e) => {
        if (e.key === " " || e.key === "Enter") set(false);
      }}
      onBlur={() => set(false)}
      // The click that follows a press does nothing more.
      onClick={(e) => e.preventDefault()}
    >
      Ask {tutorName}
    </button>
    <span id="ask-hint" className="visually-hidden">
      Hold to talk to {tutorName}
    </span>
    </>
  );
}
