import { afterEach, describe, expect, it, vi } from "vitest";
import { AudioElementPlayer } from "./voiceQueue";

/** Just enough of an <audio> element: events, src, play(), pause(). */
function fakeAudio(play: () => Promise<void>) {
  const el = Object.assign(new EventTarget(), {
    preload: "",
    src: "",
    duration: 1,
    currentTime: 0,
    play,
    pause: vi.fn(),
  });
  return el as unknown as HTMLAudioElement & EventTarget;
}

afterEach(() => vi.useRealTimers());

describe("AudioElementPlayer", () => {
  it("resolves true when the clip ends, false when stopped", async () => {
    const el = fakeAudio(() => Promise.resolve());
    const player = new AudioElementPlayer(el);
    const first = player.play("/a.mp3");
    el.dispatchEvent(new Event("ended"));
    await expect(first).resolves.toBe(true);
    const second = player.play("/b.mp3");
    player.stop();
    await expect(second).resolves.toBe(false);
    expect(el.pause).toHaveBeenCalled();
  });

  it("rejects when autoplay is blocked, so the queue can ask for a click", async () => {
    const el = fakeAudio(() => Promise.reject(new DOMException("no gesture", "NotAllowedError")));
    await expect(new AudioElementPlayer(el).play("/a.mp3")).rejects.toMatchObject({
      name: "NotAllowedError",
    });
  });

  it("skips a clip that cannot load", async () => {
    const el = fakeAudio(() => Promise.resolve());
    const played = new AudioElementPlayer(el).play("/missing.mp3");
    el.dispatchEvent(new Event("error"));
    await expect(played).resolves.toBe(false);
  });

  it("counts a clip as over shortly after its length if 'ended' never comes", async () => {
    vi.useFakeTimers();
    const el = fakeAudio(() => Promise.resolve());
    const played = new AudioElementPlayer(el).play("/a.mp3");
    el.dispatchEvent(new Event("playing"));
    let settled = false;
    void played.then(() => (settled = true));
    await vi.advanceTimersByTimeAsync(2500);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    await expect(played).resolves.toBe(true);
  });
});
