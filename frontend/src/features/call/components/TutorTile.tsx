// The tutor on the stage: its avatar moving with its voice, what it is doing, live captions of
// both sides, and the element that plays its voice (the received WebRTC track).
import { useEffect, useRef } from "react";
import type { Companion, Peer } from "@/shared/api/types";
import { captionTail, type Caption } from "../lib/captions";
import { LevelMeter, type LevelAudioContext } from "../lib/voiceLevel";
import type { TutorCall } from "../hooks/useTutorCall";

interface Props {
  companion: Companion | null;
  tutorName: string;
  call: Pick<TutorCall, "mode" | "state" | "connection" | "captions" | "stream">;
  /** Another person is in the call: the tutor listens only when addressed. */
  addressed: boolean;
  muted: boolean;
  myUserId: string;
  peers: Peer[];
  soundOn: boolean;
  onSoundBlocked?: () => void;
  /** Main tile (alone with the tutor) or a side tile (with a second person). */
  main: boolean;
  createAudioContext?: () => LevelAudioContext | null;
}

function defaultAudioContext(): LevelAudioContext | null {
  return typeof AudioContext === "undefined" ? null : new AudioContext();
}

export function stateLine(p: Pick<Props, "call" | "addressed" | "muted" | "tutorName">): string {
  const name = p.tutorName;
  switch (p.call.mode) {
    case "off":
      return "Joining…";
    case "connecting":
      return `Connecting to ${name}…`;
    case "text":
      // Its voice is the reply's clips here: "speaking" comes from them.
      return p.call.state === "speaking" ? "Speaking" : `Type to talk with ${name}`;
  }
  if (p.call.state === "thinking") return "Thinking…";
  if (p.call.state === "speaking") return "Speaking";
  if (p.muted) return `You are muted: ${name} cannot hear you`;
  return p.addressed ? `Listening when you hold “Ask ${name}”` : "Listening: just talk";
}

function speakerName(c: Caption, p: Pick<Props, "myUserId" | "peers" | "tutorName">): string {
  if (c.speaker.kind === "ai") return p.tutorName;
  if (c.speaker.user_id === p.myUserId) return "You";
  const { user_id } = c.speaker;
  return p.peers.find((peer) => peer.user_id === user_id)?.display_name ?? "Someone";
}

export function TutorTile(p: Props) {
  const audio = useRef<HTMLAudioElement>(null);
  const face = useRef<HTMLDivElement>(null);
  const { stream } = p.call;
  const { soundOn, onSoundBlocked, createAudioContext = defaultAudioContext } = p;

  useEffect(() => {
    const el = audio.current;
    if (!el) return;
    if (el.srcObject !== stream) el.srcObject = stream;
    if (!stream) return;
    el.muted = !soundOn;
    el.play().catch((err: DOMException) => {
      if (err.name === "NotAllowedError") onSoundBlocked?.();
    });
  }, [stream, soundOn, onSoundBlocked]);

  // The avatar follows the voice level: written straight to a CSS variable every frame, so the
  // page does not re-render 60 times a second.
  useEffect(() => {
    const el = face.current;
    if (!stream || !el || stream.getAudioTracks().length === 0) return;
    const context = createAudioContext();
    if (!context) return;
    const meter = new LevelMeter(stream, context);
    meter.resume();
    let frame = 0;
    const tick = () => {
      const level = meter.sample();
      el.style.setProperty("--level", level.toFixed(3));
      frame = requestAnimationFrame(tick);
    };
    frame = requestAnimationFrame(tick);
    return () => {
      cancelAnimationFrame(frame);
      el.style.setProperty("--level", "0");
      meter.close();
    };
  }, [stream, soundOn, createAudioContext]);

  const line = stateLine(p);
  return (
    <figure
      className={`tile tile-tutor${p.main ? " tile-main" : ""}`}
      data-testid="tutor-tile"
      data-mode={p.call.mode}
      data-state={p.call.state}
      data-connection={p.call.connection}
      style={p.companion ? { borderColor: p.companion.color } : undefined}
    >
      <div className="tutor-face" ref={face} data-speaking={p.call.state === "speaking" ? "yes" : "no"}>
        {p.companion && <img src={p.companion.avatar_url} alt="" width={128} height={128} />}
      </div>
      <p className="tutor-state" role="status" data-testid="tutor-state">
        {line}
      </p>
      {p.call.captions.length > 0 && (
        <ol className="captions" aria-label="Live captions" data-testid="captions">
          {p.call.captions.map((c) => (
            <li key={c.ids[0]} data-final={c.final} data-speaker={c.speaker.kind}>
              <span className="who">{speakerName(c, p)}:</span> {captionTail(c.text)}
            </li>
          ))}
        </ol>
      )}
      {/* The tutor's live voice: a WebRTC track, played by the element Chrome's echo canceller
          listens to. Never a clip URL. Its captions are the list above (transcript events). */}
      {/* eslint-disable-next-line jsx-a11y/media-has-caption */}
      <audio ref={audio} autoPlay data-testid="tutor-audio" />
      <figcaption>{p.tutorName} (AI tutor)</figcaption>
    </figure>
  );
}
