import { act, renderHook } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { useIceServers } from "./useIceServers";

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe("useIceServers", () => {
  it("fetches the servers, and again before their TURN credentials expire", async () => {
    vi.useFakeTimers();
    let n = 0;
    const fetchMock = vi.fn(async () => {
      n += 1;
      const body = {
        ttl: 100,
        relay_available: true,
        ice_servers: [{ urls: ["turn:t:3478"], username: `u${n}`, credential: "p" }],
      };
      return new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json" } });
    });
    vi.stubGlobal("fetch", fetchMock);
    const { result, unmount } = renderHook(() => useIceServers());
    await act(() => vi.advanceTimersByTimeAsync(0));
    expect(result.current.iceServers?.[0].username).toBe("u1");
    await act(() => vi.advanceTimersByTimeAsync(79_000));
    expect(fetchMock).toHaveBeenCalledTimes(1);
    await act(() => vi.advanceTimersByTimeAsync(2_000)); // 80% of 100 s
    expect(fetchMock).toHaveBeenCalledTimes(2);
    expect(result.current.iceServers?.[0].username).toBe("u2");
    unmount();
    await act(() => vi.advanceTimersByTimeAsync(200_000));
    expect(fetchMock).toHaveBeenCalledTimes(2);
  });

  it("does not hold up the call when the servers cannot be fetched", async () => {
    vi.stubGlobal("fetch", vi.fn().mockRejectedValue(new TypeError("offline")));
    const { result } = renderHook(() => useIceServers());
    await act(async () => {});
    expect(result.current.iceServers).toEqual([]);
    expect(result.current.error).toMatch(/could not reach/);
  });
});
