import { describe, expect, it } from "vitest";
import { refreshDelayMs } from "./iceServers";

describe("refreshDelayMs", () => {
  it("refreshes TURN credentials at 80% of their lifetime, within bounds", () => {
    expect(refreshDelayMs(3600)).toBe(2880_000);
    expect(refreshDelayMs(10)).toBe(30_000);
    expect(refreshDelayMs(7 * 24 * 3600)).toBe(3600_000);
  });
});
