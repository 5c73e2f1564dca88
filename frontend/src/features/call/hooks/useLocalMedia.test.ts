import { describe, expect, it, vi } from "vitest";
import { acquire } from "./useLocalMedia";

const stream = (kinds: string) => ({ kinds }) as unknown as MediaStream;
const fail = (name: string) => Promise.reject(new DOMException(name, name));

describe("acquire", () => {
  it("takes camera and microphone together when both are there", async () => {
    const getUserMedia = vi.fn().mockResolvedValue(stream("av"));
    expect(await acquire({ getUserMedia })).toEqual({ stream: stream("av"), missing: null });
  });

  it("without a camera, keeps the microphone: the learner can still talk with the tutor", async () => {
    const getUserMedia = vi.fn((c: MediaStreamConstraints) => (c.video ? fail("NotFoundError") : Promise.resolve(stream("a"))));
    expect(await acquire({ getUserMedia })).toEqual({ stream: stream("a"), missing: "video" });
  });

  it("without a microphone, keeps the camera", async () => {
    const getUserMedia = vi.fn((c: MediaStreamConstraints) => (c.audio ? fail("NotFoundError") : Promise.resolve(stream("v"))));
    expect(await acquire({ getUserMedia })).toEqual({ stream: stream("v"), missing: "audio" });
  });

  it("a refusal is final, and with no device at all the first error is reported", async () => {
    const refused = vi.fn(() => fail("NotAllowedError"));
    await expect(acquire({ getUserMedia: refused })).rejects.toMatchObject({ name: "NotAllowedError" });
    expect(refused).toHaveBeenCalledTimes(1);
    const none = vi.fn(() => fail("NotFoundError"));
    await expect(acquire({ getUserMedia: none })).rejects.toMatchObject({ name: "NotFoundError" });
    expect(none).toHaveBeenCalledTimes(3);
  });
});
