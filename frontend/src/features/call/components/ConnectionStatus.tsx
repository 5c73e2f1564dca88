import type { CallState } from "../hooks/useWebRTC";

export type ShownState = CallState | "joining";

export const CALL_STATE_WORDS: Record<ShownState, string> = {
  joining: "Joining the room…",
  waiting: "Waiting for someone to join",
  connecting: "Connecting the video…",
  connected: "Connected",
  reconnecting: "Connection lost — reconnecting…",
  failed: "The video connection failed — trying again…",
};

export function ConnectionStatus({ state }: { state: ShownState }) {
  return (
    <p className={`status status-${state}`} role="status" aria-live="polite" data-state={state}>
      <span className="dot" aria-hidden="true" />
      {CALL_STATE_WORDS[state]}
    </p>
  );
}
