import { describe, expect, it } from "vitest";
import type { TranscriptEvent } from "@/shared/api/types";
import { addCaption, CAPTION_LINES, captionTail, type Caption } from "./captions";

const said = (utterance_id: string, text: string, final = false, ai = false): TranscriptEvent => ({
  room_id: "r",
  utterance_id,
  speaker: ai ? { kind: "ai" } : { kind: "user", user_id: "me" },
  text,
  final,
});

const run = (events: TranscriptEvent[]) => events.reduce<Caption[]>(addCaption, []);

describe("captions", () => {
  it("grows one line per utterance as partial results arrive, then keeps the final text", () => {
    const lines = run([
      said("u1", "what is"),
      said("u1", "what is the capital"),
      said("u1", "what is the capital of france", true),
      said("u1", "what is the", false), // a partial overtaken by the final one
    ]);
    expect(lines.map((l) => [l.ids, l.text, l.final])).toEqual([
      [["u1"], "what is the capital of france", true],
    ]);
  });

  it("runs the tutor's sentences on in one line until someone else speaks", () => {
    const lines = run([
      said("u1", "what is the capital of france", true),
      said("r1-0", "Good question.", true, true),
      said("r1-1", "Think about it.", true, true),
      said("r1-1", "Think about it.", true, true), // sent twice: shown once
      said("u2", "is it paris", true),
      said("r1-2", "Try again.", true, true),
    ]);
    // The first question has scrolled off (CAPTION_LINES = 3).
    expect(lines.map((l) => [l.speaker.kind, l.text])).toEqual([
      ["ai", "Good question. Think about it."],
      ["user", "is it paris"],
      ["ai", "Try again."],
    ]);
  });

  it("keeps only the last few lines and skips empty partials", () => {
    const lines = run([
      said("u0", ""),
      ...Array.from({ length: CAPTION_LINES + 2 }, (_, i) => said(`u${i + 1}`, `line ${i + 1}`, true)),
    ]);
    expect(lines).toHaveLength(CAPTION_LINES);
    expect(lines.at(-1)?.text).toBe(`line ${CAPTION_LINES + 2}`);
  });

  it("shows the end of a long caption, from a word boundary", () => {
    expect(captionTail("short one")).toBe("short one");
    expect(captionTail("first sentence here. second sentence", 20)).toBe("…second sentence");
  });
});
