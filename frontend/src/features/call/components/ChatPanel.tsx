import { useEffect, useRef, useState } from "react";
import type { Message } from "@/shared/api/types";
import type { Draft, PendingMessage } from "../lib/conversation";

interface Props {
  messages: Message[];
  pending: PendingMessage[];
  drafts: Draft[];
  tutorName: string;
  myUserId: string;
  canSend: boolean;
  replying: boolean;
  onSend: (text: string) => void;
  onRetry: (p: PendingMessage) => void;
  onStop: () => void;
}

export function ChatPanel(p: Props) {
  const [text, setText] = useState("");
  const end = useRef<HTMLLIElement>(null);
  const count = p.messages.length + p.pending.length + p.drafts.reduce((n, d) => n + d.text.length, 0);

  useEffect(() => {
    end.current?.scrollIntoView?.({ block: "nearest" });
  }, [count]);

  const submit = () => {
    const t = text.trim();
    if (!t || !p.canSend) return;
    p.onSend(t);
    setText("");
  };

  return (
    <section className="panel chat" aria-labelledby="chat-title">
      <h2 id="chat-title">Chat with {p.tutorName}</h2>
      {/* Focusable: the list scrolls, and keyboard users must be able to scroll it. */}
      <ol
        className="messages"
        aria-live="polite"
        aria-relevant="additions"
        aria-label="Conversation"
        // Focusable so that keyboard users can scroll it (axe: scrollable-region-focusable).
        // eslint-disable-next-line jsx-a11y/no-noninteractive-tabindex
        tabIndex={0}
        data-testid="messages"
      >
        {p.messages.length + p.pending.length + p.drafts.length === 0 && (
          <li className="empty">Say hello — ask {p.tutorName} anything.</li>
        )}
        {p.messages.map((m) => (
          <li
            key={m.id}
            className={`msg ${m.sender.kind === "ai" ? "msg-ai" : m.sender.user_id === p.myUserId ? "msg-me" : "msg-user"}`}
            data-kind={m.sender.kind}
            data-message-id={m.id}
          >
            <span className="who">{m.sender.user_id === p.myUserId ? "You" : m.sender.display_name}</span>
            <span className="text">{m.text}</span>
            {m.metadata?.interrupted === true && <span className="meta">(stopped)</span>}
          </li>
        ))}
        {p.pending.map((m) => (
          <li key={m.client_id} className="msg msg-me msg-pending" data-status={m.status}>
            <span className="who">You</span>
            <span className="text">{m.text}</span>
            {m.status === "sending" ? (
              <span className="meta">Sending…</span>
            ) : (
              <span className="meta error">
                Not sent: {m.error}{" "}
                <button type="button" className="link" onClick={() => p.onRetry(m)}>
                  Retry
                </button>
              </span>
            )}
          </li>
        ))}
        {p.drafts.map((d) => (
          <li key={d.reply_id} className="msg msg-ai msg-streaming" data-kind="ai-draft" aria-busy={!d.stopped}>
            <span className="who">{p.tutorName}</span>
            <span className="text">{d.text}</span>
            {d.stopped && <span className="meta">(stopped)</span>}
          </li>
        ))}
        <li ref={end} aria-hidden="true" className="end" />
      </ol>
      <form
        className="composer"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <label htmlFor="chat-input" className="visually-hidden">
          Message
        </label>
        <textarea
          id="chat-input"
          rows={2}
          value={text}
          maxLength={4000}
          placeholder={`Message ${p.tutorName}…`}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey) {
              e.preventDefault();
              submit();
            }
          }}
        />
        <div className="row">
          <button type="submit" className="primary" disabled={!p.canSend || !text.trim()}>
            Send
          </button>
          {p.replying && (
            <button type="button" className="danger" onClick={p.onStop}>
              Stop {p.tutorName}
            </button>
          )}
        </div>
      </form>
    </section>
  );
}
