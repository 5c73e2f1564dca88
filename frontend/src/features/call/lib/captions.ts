// Live captions of the voice conversation as a pure reducer: partial results of an utterance
// replace each other (same utterance_id) until the final one; the tutor's sentences (one
// transcript each, as each starts playing) run on in one line while nobody else speaks; only
// the last few lines stay on the stage (the chat keeps everything once it is stored).
import type { Speaker, TranscriptEvent } from "@/shared/api/types";

export interface Caption {
  /** The utterances shown on this line (several sentences of the tutor). */
  ids: string[];
  speaker: Speaker;
  text: string;
  final: boolean;
}

export const CAPTION_LINES = 3;

export function addCaption(captions: Caption[], event: TranscriptEvent): Caption[] {
  const at = captions.findIndex((c) => c.ids.includes(event.utterance_id));
  if (at >= 0) {
    const old = captions[at];
    // A late partial must not undo the final text.
    if (old.final && !event.final) return captions;
    if (old.ids.length > 1) return captions; // a sentence already joined into a line
    const line = { ...old, text: event.text, final: event.final };
    return captions.map((c, i) => (i === at ? line : c));
  }
  if (!event.text.trim()) return captions;
  const last = captions.at(-1);
  if (event.speaker.kind === "ai" && last?.speaker.kind === "ai") {
    const line: Caption = {
      ids: [...last.ids, event.utterance_id],
      speaker: event.speaker,
      text: `${last.text} ${event.text}`,
      final: event.final,
    };
    return [...captions.slice(0, -1), line];
  }
  const line: Caption = {
    ids: [event.utterance_id],
    speaker: event.speaker,
    text: event.text,
    final: event.final,
  };
  return [...captions, line].slice(-CAPTION_LINES);
}

/** The end of a long caption (the tutor's grows sentence by sentence): the last `max`
 * characters, from a word boundary, marked as cut. */
export function captionTail(text: string, max = 160): string {
  if (text.length <= max) return text;
  const cut = text.slice(-max);
  const space = cut.indexOf(" ");
  return `…${space >= 0 ? cut.slice(space + 1) : cut}`;
}
