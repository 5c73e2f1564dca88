// A Socket.IO client stand-in: handlers by event, what the app emitted, and server pushes.
type Handler = (...args: unknown[]) => void;

export class FakeSocket {
  connected = true;
  id = "sidA";
  emitted: { event: string; payload: unknown }[] = [];
  acks: Record<string, (payload: unknown) => unknown> = {};
  private handlers = new Map<string, Set<Handler>>();

  on(event: string, handler: Handler) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event)!.add(handler);
    return this;
  }

  off(event: string, handler: Handler) {
    this.handlers.get(event)?.delete(handler);
    return this;
  }

  emit(event: string, payload?: unknown) {
    this.emitted.push({ event, payload });
    return this;
  }

  timeout() {
    return {
      emitWithAck: async (event: string, payload: unknown) => {
        this.emitted.push({ event, payload });
        const answer = this.acks[event];
        return answer ? answer(payload) : { ok: true };
      },
    };
  }

  connect() {
    this.connected = true;
    return this;
  }

  disconnect() {
    this.connected = false;
    return this;
  }

  /** The server sends an event to this client. */
  push(event: string, payload?: unknown) {
    for (const h of [...(this.handlers.get(event) ?? [])]) h(payload);
  }

  listeners(event: string): number {
    return this.handlers.get(event)?.size ?? 0;
  }
}
