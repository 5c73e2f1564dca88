// The tutor's voice: ai-audio clips into a VoiceQueue that plays them in order.
import { useCallback, useEffect, useRef, useState } from "react";
import type { AiAudio, AiDone, AppSocket } from "@/shared/api/types";
import { AudioElementPlayer, VoiceQueue, type Player, type VoiceState } from "../lib/voiceQueue";

export interface TutorVoice extends VoiceState {
  setEnabled: (enabled: boolean) => void;
  resume: () => void;
  stop: (replyId?: string) => void;
}

const SPEAKER_KEY = "holo.speaker";

export function useTutorVoice(socket: AppSocket | null, makePlayer?: () => Player): TutorVoice {
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
    if (!socket) return;
    const onAudio = (clip: AiAudio) => queue.current?.push(clip);
    const onDone = (done: AiDone) => queue.current?.finish(done.reply_id);
    socket.on("ai-audio", onAudio);
    socket.on("ai-done", onDone);
    return () => {
      socket.off("ai-audio", onAudio);
      socket.off("ai-done", onDone);
    };
  }, [socket]);

  const setEnabled = useCallback((enabled: boolean) => {
    localStorage.setItem(SPEAKER_KEY, enabled ? "on" : "off");
    queue.current?.setEnabled(enabled);
  }, []);
  const resume = useCallback(() => queue.current?.resume(), []);
  const stop = useCallback((replyId?: string) => queue.current?.stop(replyId), []);

  return { ...state, setEnabled, resume, stop };
}
