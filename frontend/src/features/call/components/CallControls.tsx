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
}

export function CallControls(p: Props) {
  return (
    <div className="controls" role="toolbar" aria-label="Call controls">
      <button type="button" aria-pressed={p.muted} disabled={!p.mediaReady} onClick={p.onToggleMute}>
        {p.muted ? "Unmute" : "Mute"}
      </button>
      <button
        type="button"
        aria-pressed={p.cameraOff}
        disabled={!p.mediaReady}
        onClick={p.onToggleCamera}
      >
        {p.cameraOff ? "Turn camera on" : "Turn camera off"}
      </button>
      <button type="button" aria-pressed={p.sharing} onClick={p.onToggleShare}>
        {p.sharing ? "Stop sharing" : "Share screen"}
      </button>
      <button type="button" aria-pressed={!p.speakerOn} onClick={p.onToggleSpeaker}>
        {p.speakerOn ? "Tutor voice on" : "Tutor voice off"}
      </button>
      <button type="button" className="danger" onClick={p.onEnd}>
        {p.isOwner ? "End session" : "Leave call"}
      </button>
    </div>
  );
}
