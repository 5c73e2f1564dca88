// The tutor's voice in text mode: ai-audio clips into a VoiceQueue that plays them in order.
// While the tutor is live in the call (`live`), its voice comes on the WebRTC track instead and
// the clips (still stored for history) are not played: live speech never plays from <audio>
// clips, which the echo canceller would not know about.
import { useCallback, useEffect, useRef, useState } from "react";
import type { AiAudio, AiDone, AppSocket } from "@/shared/api/types";
import { AudioElementPlayer, VoiceQueue, type Player, type VoiceState } from "../lib/voiceQueue";

export interface TutorVoice extends VoiceState {
  setEnabled: (enabled: boolean) => void;
  resume: () => void;
  stop: (replyId?: string) => void;
}

const SPEAKER_KEY = "holo.speaker";

export function useTutorVoice(
  socket: AppSocket | null,
  live = false,
  makePlayer?: () => Player,
): TutorVoice {
  const queue = useRef<VoiceQueue | null>(null);
  const [state, setState] = useState<VoiceState>({
    enabled: localStorage.getItem(SPEAKER_KEY) !== "off",
    blocked: false,
    speaking: null,
    queued: 0,
    played: 0,
  });

  if (queue.current === null) {
    const player = makePlayer ? makePlayer() : new AudioElementPlayer();
    queue.current = new VoiceQueue(player, setState, localStorage.getItem(SPEAKER_KEY) !== "off");
  }

  useEffect(() => () => queue.current?.dispose(), []);

  useEffect(() => {
    if (live) queue.current?.stop();
  }, [live]);

  useEffect(() => {
    if (!socket || live) return;
    const onAudio = (clip: AiAudio) => queue.current?.push(clip);
    const onDone = (done: AiDone) => queue.current?.finish(done.reply_id);
    socket.on("ai-audio", onAudio);
    socket.on("ai-done", onDone);
    return () => {
      socket.off("ai-audio", onAudio);
      socket.off("ai-done", onDone);
    };
  }, [socket, live]);

  const setEnabled = useCallback((enabled: boolean) => {
    localStorage.setItem(SPEAKER_KEY, enabled ? "on" : "off");
    queue.current?.setEnabled(enabled);
  }, []);
  const resume = useCallback(() => queue.current?.resume(), []);
  const stop = useCallback((replyId?: string) => queue.current?.stop(replyId), []);

  return { ...state, setEnabled, resume, stop };
}
