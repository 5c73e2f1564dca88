// The chat's state as a pure reducer: messages by id (so nothing shows twice, whether it came
// back as our ack, as a broadcast, or in a rejoin's recent list), our unsent messages by
// client_id, and the tutor's replies while they stream.
import type { Message } from "@/shared/api/types";

export interface PendingMessage {
  client_id: string;
  text: string;
  status: "sending" | "failed";
  error?: string;
}

export interface Draft {
  reply_id: string;
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
  | { type: "sending"; client_id: string; text: string }
  | { type: "failed"; client_id: string; error: string }
  | { type: "delta"; reply_id: string; text: string }
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
      // A tutor message whose reply we were streaming replaces the draft.
      const replies = new Set(action.messages.flatMap((m) => [m.id, m.reply_to ?? ""]));
      return {
        messages: upsert(state.messages, action.messages),
        pending: state.pending.filter((p) => !arrived.has(p.client_id)),
        drafts: state.drafts.filter((d) => !replies.has(d.reply_id)),
      };
    }
    case "sending": {
      const others = state.pending.filter((p) => p.client_id !== action.client_id);
      return {
        ...state,
        pending: [...others, { client_id: action.client_id, text: action.text, status: "sending" }],
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
      if (state.messages.some((m) => m.id === action.reply_id)) return state;
      const drafts = draft
        ? state.drafts.map((d) =>
            d.reply_id === action.reply_id ? { ...d, text: d.text + action.text } : d,
          )
        : [...state.drafts, { reply_id: action.reply_id, text: action.text, stopped: false }];
      return { ...state, drafts };
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
