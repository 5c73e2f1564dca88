// Chat with the tutor (and the other person): messages, our sends with retry, streamed replies.
import { useCallback, useEffect, useReducer, useRef } from "react";
import type { Ack, AiDelta, AiDone, AppSocket, JoinAck, Message } from "@/shared/api/types";
import { newClientId } from "@/shared/lib/ids";
import { conversationReducer, emptyConversation, type ConversationState } from "../lib/conversation";

export interface Conversation extends ConversationState {
  send: (text: string, clientId?: string) => Promise<boolean>;
  markStopped: (replyId?: string) => void;
}

export function useConversation(
  socket: AppSocket | null,
  roomId: string,
  joined: JoinAck | null,
): Conversation {
  const [state, dispatch] = useReducer(conversationReducer, emptyConversation);

  useEffect(() => {
    if (joined) dispatch({ type: "messages", messages: joined.messages });
  }, [joined]);

  useEffect(() => {
    if (!socket) return;
    const onMessage = (m: Message) => {
      if (m.room_id === roomId) dispatch({ type: "messages", messages: [m] });
    };
    const onDelta = (d: AiDelta) => dispatch({ type: "delta", reply_id: d.reply_id, reply_to: d.reply_to, text: d.text });
    const onDone = (d: AiDone) =>
      dispatch({ type: "done", reply_id: d.reply_id, message: d.message ?? null });
    // An error ends the stream; if some text was sent, ai-done follows with it.
    const onError = (e: { reply_id?: string | null }) =>
      dispatch({ type: "stopped", reply_id: e.reply_id ?? undefined });
    socket.on("message", onMessage);
    socket.on("ai-delta", onDelta);
    socket.on("ai-done", onDone);
    socket.on("ai-error", onError);
    return () => {
      socket.off("ai-error", onError);
      socket.off("message", onMessage);
      socket.off("ai-delta", onDelta);
      socket.off("ai-done", onDone);
    };
  }, [socket, roomId]);

  const send = useCallback(
    async (text: string, clientId: string = newClientId()): Promise<boolean> => {
      dispatch({ type: "sending", client_id: clientId, text });
      if (!socket?.connected) {
        dispatch({ type: "failed", client_id: clientId, error: "Not connected; retry when back online." });
        return false;
      }
      try {
        const ack: Ack<{ message: Message }> = await socket
          .timeout(8000)
          .emitWithAck("message", { room_id: roomId, text, client_id: clientId });
        if (ack.ok) {
          dispatch({ type: "messages", messages: [ack.message] });
          return true;
        }
        dispatch({ type: "failed", client_id: clientId, error: ack.error.message });
      } catch {
        dispatch({ type: "failed", client_id: clientId, error: "No answer from the server." });
      }
      return false;
    },
    [socket, roomId],
  );

  // Back in the room after a drop: send again what did not go out. The same client_id is
  // stored once, so a message that did arrive is not duplicated.
  const pendingRef = useRef(state.pending);
  pendingRef.current = state.pending;
  useEffect(() => {
    if (!joined) return;
    for (const p of pendingRef.current) if (p.status === "failed") void send(p.text, p.client_id);
  }, [joined, send]);

  const markStopped = useCallback((replyId?: string) => dispatch({ type: "stopped", reply_id: replyId }), []);

  return { ...state, send, markStopped };
}
