// The chat's state as a pure reducer: messages by id (so nothing shows twice, whether it came
// back as our ack, as a broadcast, or in a rejoin's recent list), our unsent messages by
// client_id, and the tutor's replies while they stream.
import type { Message } from "@/shared/api/types";

export interface PendingMessage {
  client_id: string;
  text: string;
  /** Addressed to the tutor (a room with two people); kept for a retry. */
  to_tutor?: boolean;
  status: "sending" | "failed";
  error?: string;
}

export interface Draft {
  reply_id: string;
  reply_to?: string;
  text: string;
  stopped: boolean;
}

export interface ConversationState {
  messages: Message[];
  pending: PendingMessage[];
  drafts: Draft[];
}

export type ConversationAction =
  | { type: "messages"; messages: Message[] }
  | { type: "sending"; client_id: string; text: string; to_tutor?: boolean }
  | { type: "failed"; client_id: string; error: string }
  | { type: "delta"; reply_id: string; reply_to?: string; text: string }
  | { type: "done"; reply_id: string; message: Message | null }
  | { type: "stopped"; reply_id?: string }
  | { type: "reset" };

export const emptyConversation: ConversationState = { messages: [], pending: [], drafts: [] };

function order(a: Message, b: Message): number {
  if (a.seq !== undefined && b.seq !== undefined) return a.seq - b.seq;
  return a.ts - b.ts;
}

function upsert(existing: Message[], incoming: Message[]): Message[] {
  const byId = new Map(existing.map((m) => [m.id, m]));
  for (const m of incoming) byId.set(m.id, m);
  return [...byId.values()].sort(order);
}

export function conversationReducer(
  state: ConversationState,
  action: ConversationAction,
): ConversationState {
  switch (action.type) {
    case "messages": {
      const arrived = new Set(action.messages.map((m) => m.client_id).filter(Boolean));
      // A stored tutor message replaces the draft of its reply (same reply_id, or the same
      // learner message answered).
      const ai = action.messages.filter((m) => m.sender.kind === "ai");
      const replyIds = new Set(ai.map((m) => String(m.metadata?.reply_id ?? m.id)));
      const answered = new Set(ai.map((m) => m.reply_to).filter(Boolean));
      return {
        messages: upsert(state.messages, action.messages),
        pending: state.pending.filter((p) => !arrived.has(p.client_id)),
        drafts: state.drafts.filter(
          (d) => !replyIds.has(d.reply_id) && !(d.reply_to && answered.has(d.reply_to)),
        ),
      };
    }
    case "sending": {
      const others = state.pending.filter((p) => p.client_id !== action.client_id);
      return {
        ...state,
        pending: [
          ...others,
          {
            client_id: action.client_id,
            text: action.text,
            status: "sending",
            ...(action.to_tutor !== undefined ? { to_tutor: action.to_tutor } : {}),
          },
        ],
      };
    }
    case "failed":
      return {
        ...state,
        pending: state.pending.map((p) =>
          p.client_id === action.client_id ? { ...p, status: "failed", error: action.error } : p,
        ),
      };
    case "delta": {
      const draft = state.drafts.find((d) => d.reply_id === action.reply_id);
      if (draft?.stopped) return state;
      if (state.messages.some((m) => m.metadata?.reply_id === action.reply_id)) return state;
      if (draft) {
        const drafts = state.drafts.map((d) =>
          d.reply_id === action.reply_id ? { ...d, text: d.text + action.text } : d,
        );
        return { ...state, drafts };
      }
      // A new reply to the same learner message (taken over after a crash) restarts the text.
      const others = state.drafts.filter((d) => !action.reply_to || d.reply_to !== action.reply_to);
      const fresh: Draft = {
        reply_id: action.reply_id,
        reply_to: action.reply_to,
        text: action.text,
        stopped: false,
      };
      return { ...state, drafts: [...others, fresh] };
    }
    case "done": {
      const drafts = state.drafts.filter((d) => d.reply_id !== action.reply_id);
      const messages = action.message ? upsert(state.messages, [action.message]) : state.messages;
      return { ...state, drafts, messages };
    }
    case "stopped":
      return {
        ...state,
        drafts: state.drafts.map((d) =>
          action.reply_id === undefined || d.reply_id === action.reply_id
            ? { ...d, stopped: true }
            : d,
        ),
      };
    case "reset":
      return emptyConversation;
  }
}
