import { act, renderHook } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { AppSocket, Peer } from "@/shared/api/types";
import { asPc, FakePeerConnection, settle } from "@/test/fakePeerConnection";
import { FakeSocket } from "@/test/fakeSocket";
import { summarize, useWebRTC, type UseWebRTCOptions } from "./useWebRTC";

const peer = (sid: string): Peer => ({ sid, user_id: `u-${sid}`, display_name: sid });

function setup(initial: Partial<UseWebRTCOptions> = {}) {
  const socket = new FakeSocket();
  const pcs: FakePeerConnection[] = [];
  const base: UseWebRTCOptions = {
    socket: socket as unknown as AppSocket,
    roomId: "room",
    joinedSid: "sidA",
    peers: [],
    localStream: null,
    outgoingVideo: null,
    iceServers: [],
    refreshIceServers: async () => [],
    createPeerConnection: (c) => {
      const pc = new FakePeerConnection(c);
      pcs.push(pc);
      return asPc(pc);
    },
    ...initial,
  };
  const hook = renderHook((props: UseWebRTCOptions) => useWebRTC(props), { initialProps: base });
  return { socket, pcs, hook, base };
}

describe("useWebRTC", () => {
  it("makes a link per peer once joined, and none before", () => {
    const { pcs, hook, base } = setup({ joinedSid: null, peers: [peer("sidB")] });
    expect(pcs).toHaveLength(0);
    hook.rerender({ ...base, joinedSid: "sidA", peers: [peer("sidB")] });
    expect(pcs).toHaveLength(1);
    expect(hook.result.current.callState).toBe("connecting");
  });

  it("answers an offer from a peer it has not heard of yet (it can overtake the join ack)", async () => {
    const { socket, pcs } = setup({ joinedSid: null });
    await act(async () => {
      socket.push("offer", { from: "sidB", sdp: { type: "offer", sdp: "o" } });
      await settle();
    });
    expect(pcs).toHaveLength(1);
    expect(socket.emitted.at(-1)).toMatchObject({
      event: "answer",
      payload: { room_id: "room", to: "sidB", sdp: { type: "answer" } },
    });
  });

  it("closes the link when the peer leaves, and every link when the socket drops", async () => {
    const { socket, pcs, hook } = setup({ peers: [peer("sidB"), peer("sidC")] });
    expect(pcs).toHaveLength(2);
    act(() => socket.push("peer-left", peer("sidB")));
    expect(pcs[0].closed).toBe(true);
    expect(hook.result.current.remotes.map((r) => r.sid)).toEqual(["sidC"]);
    act(() => socket.push("disconnect"));
    expect(pcs[1].closed).toBe(true);
    expect(hook.result.current.remotes).toEqual([]);
  });

  it("reports the connection in a few states a learner understands", () => {
    const { pcs, hook } = setup({ peers: [peer("sidB")] });
    act(() => pcs[0].setConnectionState("connected"));
    expect(hook.result.current.callState).toBe("connected");
    act(() => pcs[0].setConnectionState("disconnected"));
    expect(hook.result.current.callState).toBe("reconnecting");
  });

  it("cleans up every listener and link on unmount", () => {
    const { socket, pcs, hook } = setup({ peers: [peer("sidB")] });
    hook.unmount();
    expect(pcs[0].closed).toBe(true);
    for (const event of ["offer", "answer", "candidate", "peer-left", "disconnect"]) {
      expect(socket.listeners(event)).toBe(0);
    }
  });
});

describe("summarize", () => {
  it("maps sockets and peer connections to words", () => {
    expect(summarize(false, 1, ["connected"])).toBe("reconnecting");
    expect(summarize(true, 0, [])).toBe("waiting");
    expect(summarize(true, 1, ["new"])).toBe("connecting");
    expect(summarize(true, 1, ["failed"])).toBe("failed");
  });
});
