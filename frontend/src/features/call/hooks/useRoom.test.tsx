import { act, renderHook, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { FakeSocket } from "@/test/fakeSocket";
import { useRoom } from "./useRoom";
import type { AppSocket } from "@/shared/api/types";

const joinAck = (peers: unknown[] = []) => ({
  ok: true,
  peers,
  messages: [],
  you: { sid: "sidA", user_id: "me", display_name: "Lena" },
  room: null,
});

describe("useRoom", () => {
  it("joins with the invite token and keeps the peer list from the events", async () => {
    const socket = new FakeSocket();
    socket.acks.join = () => joinAck([{ sid: "sidB", user_id: "u2", display_name: "Ivan" }]);
    const { result } = renderHook(() => useRoom(socket as unknown as AppSocket, "room-1", "tok"));
    await waitFor(() => expect(result.current.joined).not.toBeNull());
    expect(socket.emitted[0]).toEqual({ event: "join", payload: { room_id: "room-1", invite_token: "tok" } });
    expect(result.current.peers.map((p) => p.sid)).toEqual(["sidB"]);
    act(() => socket.push("peer-joined", { sid: "sidC", user_id: "u3", display_name: "Cleo" }));
    act(() => socket.push("peer-left", { sid: "sidB", user_id: "u2", display_name: "Ivan" }));
    expect(result.current.peers.map((p) => p.sid)).toEqual(["sidC"]);
  });

  it("retries a join the server could not serve, and reports a refusal", async () => {
    const socket = new FakeSocket();
    let calls = 0;
    socket.acks.join = () =>
      ++calls === 1 ? { ok: false, error: { code: "unavailable", message: "retry" } } : joinAck();
    const { result } = renderHook(() => useRoom(socket as unknown as AppSocket, "room-1", null));
    await waitFor(() => expect(result.current.joined).not.toBeNull(), { timeout: 3000 });
    expect(calls).toBe(2);

    const full = new FakeSocket();
    full.acks.join = () => ({ ok: false, error: { code: "room_full", message: "Two people already." } });
    const second = renderHook(() => useRoom(full as unknown as AppSocket, "room-1", null));
    await waitFor(() => expect(second.result.current.error?.code).toBe("room_full"));
    expect(full.emitted.filter((e) => e.event === "join")).toHaveLength(1);
  });

  it("forgets the peers when the socket drops and joins again on reconnect", async () => {
    const socket = new FakeSocket();
    socket.acks.join = () => joinAck([{ sid: "sidB", user_id: "u2", display_name: "Ivan" }]);
    const { result } = renderHook(() => useRoom(socket as unknown as AppSocket, "room-1", null));
    await waitFor(() => expect(result.current.peers).toHaveLength(1));
    act(() => socket.push("disconnect", "transport close"));
    expect(result.current.joined).toBeNull();
    expect(result.current.peers).toEqual([]);
    act(() => socket.push("connect"));
    await waitFor(() => expect(result.current.peers).toHaveLength(1));
    expect(socket.emitted.filter((e) => e.event === "join")).toHaveLength(2);
  });
});
