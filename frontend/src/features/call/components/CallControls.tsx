import type { ReactNode } from "react";

interface Props {
  muted: boolean;
  cameraOff: boolean;
  sharing: boolean;
  speakerOn: boolean;
  mediaReady: boolean;
  isOwner: boolean;
  onToggleMute: () => void;
  onToggleCamera: () => void;
  onToggleShare: () => void;
  onToggleSpeaker: () => void;
  onEnd: () => void;
  /** Controls that exist only sometimes (push-to-talk with two people). */
  children?: ReactNode;
}

// Each toggle's label says what pressing it does ("Unmute"), so screen readers need no
// aria-pressed on top; the "active" look marks the non-default state.
export function CallControls(p: Props) {
  return (
    <div className="controls" role="toolbar" aria-label="Call controls">
      {p.children}
      <button
        type="button"
        className={p.muted ? "active" : undefined}
        disabled={!p.mediaReady}
        onClick={p.onToggleMute}
      >
        {p.muted ? "Unmute" : "Mute"}
      </button>
      <button
        type="button"
        className={p.cameraOff ? "active" : undefined}
        disabled={!p.mediaReady}
        onClick={p.onToggleCamera}
      >
        {p.cameraOff ? "Turn camera on" : "Turn camera off"}
      </button>
      <button type="button" className={p.sharing ? "active" : undefined} onClick={p.onToggleShare}>
        {p.sharing ? "Stop sharing" : "Share screen"}
      </button>
      <button
        type="button"
        className={p.speakerOn ? undefined : "active"}
        onClick={p.onToggleSpeaker}
      >
        {p.speakerOn ? "Turn tutor voice off" : "Turn tutor voice on"}
      </button>
      <button type="button" className="danger" onClick={p.onEnd}>
        {p.isOwner ? "End session" : "Leave call"}
      </button>
    </div>
  );
}
