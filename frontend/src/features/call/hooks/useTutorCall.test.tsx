import { act, renderHook, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { AppSocket, JoinAck } from "@/shared/api/types";
import { asPc, FakePeerConnection } from "@/test/fakePeerConnection";
import { FakeSocket } from "@/test/fakeSocket";
import { useTutorCall, type UseTutorCallOptions } from "./useTutorCall";

const joinAck = (sid: string): JoinAck => ({
  peers: [],
  messages: [],
  you: { sid, user_id: "me", display_name: "Lena" },
  room: null,
});

const mic = { kind: "audio", enabled: true } as MediaStreamTrack;
const stream = { getAudioTracks: () => [mic] } as unknown as MediaStream;

function setup() {
  const socket = new FakeSocket();
  socket.acks["tutor-offer"] = () => ({ ok: true, sdp: { type: "answer", sdp: "answer" } });
  const pcs: FakePeerConnection[] = [];
  const base: UseTutorCallOptions = {
    socket: socket as unknown as AppSocket,
    roomId: "room-1",
    joined: joinAck("sidA"),
    localStream: stream,
    mediaSettled: true,
    iceServers: [],
    createPeerConnection: (config) => {
      const pc = new FakePeerConnection(config);
      pcs.push(pc);
      return asPc(pc);
    },
  };
  const hook = renderHook((o: UseTutorCallOptions) => useTutorCall(o), { initialProps: base });
  const events = (name: string) => socket.emitted.filter((e) => e.event === name);
  return { socket, pcs, base, hook, events };
}

describe("useTutorCall", () => {
  it("negotiates a new tutor peer after a reconnect, on the new socket", async () => {
    const { socket, pcs, base, hook, events } = setup();
    await waitFor(() => expect(hook.result.current.mode).toBe("voice"));
    act(() => {
      socket.connected = false;
      socket.push("disconnect", "transport close");
    });
    expect(hook.result.current.mode).toBe("off");
    expect(pcs[0].closed).toBe(true);
    // The replica that held it is gone or has closed it already: nothing to tell.
    expect(events("tutor-leave")).toHaveLength(0);

    socket.connected = true;
    hook.rerender({ ...base, joined: joinAck("sidA2") });
    await waitFor(() => expect(hook.result.current.mode).toBe("voice"));
    expect(events("tutor-offer")).toHaveLength(2);
    expect(pcs).toHaveLength(2);
    expect(pcs[1].closed).toBe(false);

    hook.unmount();
    expect(events("tutor-leave")).toEqual([{ event: "tutor-leave", payload: { room_id: "room-1" } }]);
  });

  it("renegotiates a failed connection, then falls back to text", async () => {
    const { pcs, hook, events } = setup();
    await waitFor(() => expect(hook.result.current.mode).toBe("voice"));
    for (let attempt = 1; attempt <= 2; attempt++) {
      act(() => pcs.at(-1)!.setConnectionState("failed"));
      await waitFor(() => expect(events("tutor-offer")).toHaveLength(attempt + 1));
      await waitFor(() => expect(hook.result.current.mode).toBe("voice"));
    }
    expect(events("tutor-leave")).toHaveLength(2);
    act(() => pcs.at(-1)!.setConnectionState("failed"));
    expect(hook.result.current.mode).toBe("text");
    expect(hook.result.current.reason?.code).toBe("voice_failed");
  });

  it("keeps the captions and state of its own room only", async () => {
    const { socket, hook } = setup();
    act(() => {
      socket.push("tutor-state", { room_id: "other", state: "speaking" });
      socket.push("transcript", { room_id: "other", utterance_id: "x", speaker: { kind: "ai" }, text: "no", final: true });
      socket.push("tutor-state", { room_id: "room-1", state: "thinking" });
    });
    expect(hook.result.current.state).toBe("thinking");
    expect(hook.result.current.captions).toEqual([]);
  });
});
