// Live captions of the voice conversation as a pure reducer: partial results of an utterance
// replace each other (same utterance_id) until the final one; only the last few lines stay on
// the stage (the chat keeps everything once it is stored).
import type { Speaker, TranscriptEvent } from "@/shared/api/types";

export interface Caption {
  utterance_id: string;
  speaker: Speaker;
  text: string;
  final: boolean;
}

export const CAPTION_LINES = 3;

export function addCaption(captions: Caption[], event: TranscriptEvent): Caption[] {
  const line: Caption = {
    utterance_id: event.utterance_id,
    speaker: event.speaker,
    text: event.text,
    final: event.final,
  };
  const at = captions.findIndex((c) => c.utterance_id === event.utterance_id);
  if (at >= 0) {
    // A late partial must not undo the final text; the tutor's caption may go on after a
    // pause between two sentences (longer text, same utterance).
    if (captions[at].final && !event.final && event.text.length <= captions[at].text.length) {
      return captions;
    }
    return captions.map((c, i) => (i === at ? line : c));
  }
  if (!event.text.trim()) return captions;
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
