import { describe, expect, it } from "vitest";
import { refreshDelayMs, toRtcIceServers } from "./iceServers";

describe("refreshDelayMs", () => {
  it("refreshes TURN credentials at 80% of their lifetime, within bounds", () => {
    expect(refreshDelayMs(3600)).toBe(2880_000);
    expect(refreshDelayMs(10)).toBe(30_000);
    expect(refreshDelayMs(7 * 24 * 3600)).toBe(3600_000);
  });
});

describe("toRtcIceServers", () => {
  it("drops the API's nulls (STUN has no credentials)", () => {
    expect(
      toRtcIceServers({
        ttl: 600,
        relay_available: true,
        ice_servers: [
          { urls: ["stun:stun.example:3478"], username: null, credential: null },
          { urls: ["turn:turn.example:3478"], username: "1:u", credential: "pw" },
        ],
      }),
    ).toEqual([
      { urls: ["stun:stun.example:3478"] },
      { urls: ["turn:turn.example:3478"], username: "1:u", credential: "pw" },
    ]);
  });
});
