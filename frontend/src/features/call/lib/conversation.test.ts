import { describe, expect, it } from "vitest";
import type { Message } from "@/shared/api/types";
import { conversationReducer as reduce, emptyConversation, type ConversationState } from "./conversation";

const msg = (id: string, seq: number, extra: Partial<Message> = {}): Message => ({
  id,
  seq,
  room_id: "room",
  sender: { kind: "user", user_id: "u1", display_name: "Lena" },
  text: `text ${id}`,
  ts: seq,
  ...extra,
});

const ai = (id: string, seq: number, replyId: string, replyTo: string): Message =>
  msg(id, seq, {
    sender: { kind: "ai", display_name: "Ada" },
    reply_to: replyTo,
    metadata: { reply_id: replyId },
  });

function run(...actions: Parameters<typeof reduce>[1][]): ConversationState {
  return actions.reduce(reduce, emptyConversation);
}

describe("conversationReducer", () => {
  it("shows our own message once: pending, then the ack, then the broadcast and a rejoin", () => {
    const stored = msg("m1", 1, { client_id: "c1" });
    let s = run({ type: "sending", client_id: "c1", text: "hi" });
    expect(s.pending).toHaveLength(1);
    s = reduce(s, { type: "messages", messages: [stored] });
    s = reduce(s, { type: "messages", messages: [stored] });
    s = reduce(s, { type: "messages", messages: [msg("m0", 0), stored] });
    expect(s.pending).toEqual([]);
    expect(s.messages.map((m) => m.id)).toEqual(["m0", "m1"]);
  });

  it("keeps a failed message for a retry with the same client id", () => {
    let s = run(
      { type: "sending", client_id: "c1", text: "hi" },
      { type: "failed", client_id: "c1", error: "offline" },
    );
    expect(s.pending[0]).toMatchObject({ status: "failed", error: "offline" });
    s = reduce(s, { type: "sending", client_id: "c1", text: "hi" });
    expect(s.pending).toHaveLength(1);
    expect(s.pending[0].status).toBe("sending");
  });

  it("streams a reply as a draft and replaces it with the stored message", () => {
    let s = run(
      { type: "delta", reply_id: "r1", reply_to: "m1", text: "Great " },
      { type: "delta", reply_id: "r1", reply_to: "m1", text: "question!" },
    );
    expect(s.drafts).toEqual([{ reply_id: "r1", reply_to: "m1", text: "Great question!", stopped: false }]);
    s = reduce(s, { type: "done", reply_id: "r1", message: ai("a1", 2, "r1", "m1") });
    expect(s.drafts).toEqual([]);
    expect(s.messages.map((m) => m.id)).toEqual(["a1"]);
    // A late delta of a finished reply does not bring the draft back.
    s = reduce(s, { type: "delta", reply_id: "r1", reply_to: "m1", text: "late" });
    expect(s.drafts).toEqual([]);
  });

  it("a reply taken over by another replica restarts the draft instead of appending", () => {
    const s = run(
      { type: "delta", reply_id: "r1", reply_to: "m1", text: "Great que" },
      { type: "delta", reply_id: "r2", reply_to: "m1", text: "Great" },
    );
    expect(s.drafts).toEqual([{ reply_id: "r2", reply_to: "m1", text: "Great", stopped: false }]);
  });

  it("a stopped draft takes no more text and is replaced by what was kept", () => {
    let s = run(
      { type: "delta", reply_id: "r1", reply_to: "m1", text: "Great" },
      { type: "stopped", reply_id: "r1" },
      { type: "delta", reply_id: "r1", reply_to: "m1", text: " more" },
    );
    expect(s.drafts[0]).toMatchObject({ text: "Great", stopped: true });
    s = reduce(s, { type: "messages", messages: [ai("a1", 2, "r1", "m1")] });
    expect(s.drafts).toEqual([]);
  });
});
