import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { VoiceQueue, type Player, type VoiceClip } from "./voiceQueue";

/** A player whose clips end when the test says so. */
class ScriptedPlayer implements Player {
  started: string[] = [];
  private pending: { url: string; resolve: (done: boolean) => void; reject: (e: unknown) => void }[] = [];
  blockNext = false;

  play(url: string): Promise<boolean> {
    this.started.push(url);
    return new Promise((resolve, reject) => {
      if (this.blockNext) {
        this.blockNext = false;
        reject(new DOMException("blocked", "NotAllowedError"));
        return;
      }
      this.pending.push({ url, resolve, reject });
    });
  }

  stop(): void {
    this.pending.shift()?.resolve(false);
  }

  finishCurrent(): void {
    this.pending.shift()?.resolve(true);
  }

  get playing(): string | undefined {
    return this.pending[0]?.url;
  }
}

const clip = (reply_id: string, seq: number): VoiceClip => ({
  reply_id,
  seq,
  url: `${reply_id}/${seq}.mp3`,
  text: `sentence ${seq}`,
});

const flush = () => new Promise((r) => setTimeout(r, 0));

describe("VoiceQueue", () => {
  let player: ScriptedPlayer;
  let queue: VoiceQueue;

  beforeEach(() => {
    player = new ScriptedPlayer();
    queue = new VoiceQueue(player);
  });
  afterEach(() => vi.useRealTimers());

  async function playAll(): Promise<void> {
    while (player.playing) {
      player.finishCurrent();
      await flush();
    }
  }

  it("plays one sentence at a time, in seq order even when they arrive out of order", async () => {
    queue.push(clip("r1", 0));
    queue.push(clip("r1", 2));
    queue.push(clip("r1", 1));
    expect(player.started).toEqual(["r1/0.mp3"]);
    await playAll();
    expect(player.started).toEqual(["r1/0.mp3", "r1/1.mp3", "r1/2.mp3"]);
    expect(queue.state.played).toBe(3);
  });

  it("waits for a missing sentence, then plays the rest once the reply is done", async () => {
    queue.push(clip("r1", 0));
    queue.push(clip("r1", 2));
    player.finishCurrent();
    await flush();
    expect(player.playing).toBeUndefined(); // seq 1 has not come yet
    queue.finish("r1");
    expect(player.playing).toBe("r1/2.mp3");
  });

  it("gives up on a missing sentence after a short wait", async () => {
    vi.useFakeTimers();
    queue.push(clip("r1", 0));
    queue.push(clip("r1", 2));
    player.finishCurrent();
    await vi.advanceTimersByTimeAsync(0);
    expect(player.playing).toBeUndefined();
    await vi.advanceTimersByTimeAsync(2500);
    expect(player.playing).toBe("r1/2.mp3");
  });

  it("plays replies in the order they started", async () => {
    queue.push(clip("r1", 0));
    queue.push(clip("r2", 0));
    queue.push(clip("r1", 1));
    await playAll();
    expect(player.started).toEqual(["r1/0.mp3", "r1/1.mp3", "r2/0.mp3"]);
  });

  it("stop() cuts the current sentence and drops the rest of that reply, even late ones", async () => {
    queue.push(clip("r1", 0));
    queue.push(clip("r1", 1));
    queue.stop("r1");
    await flush();
    queue.push(clip("r1", 2));
    expect(player.playing).toBeUndefined();
    expect(queue.state).toMatchObject({ speaking: null, queued: 0, played: 0 });
    // The next reply plays normally.
    queue.push(clip("r2", 0));
    expect(player.playing).toBe("r2/0.mp3");
  });

  it("with the speaker off nothing is queued or played", () => {
    queue.setEnabled(false);
    queue.push(clip("r1", 0));
    expect(player.started).toEqual([]);
    queue.setEnabled(true);
    queue.push(clip("r2", 0));
    expect(player.started).toEqual(["r2/0.mp3"]);
  });

  it("when autoplay is blocked it waits for resume() and then plays the same sentence", async () => {
    const states: boolean[] = [];
    queue = new VoiceQueue(player, (s) => states.push(s.blocked));
    player.blockNext = true;
    queue.push(clip("r1", 0));
    await flush();
    expect(queue.state.blocked).toBe(true);
    queue.push(clip("r1", 1));
    expect(player.started).toEqual(["r1/0.mp3"]);
    queue.resume();
    expect(queue.state.blocked).toBe(false);
    expect(player.started).toEqual(["r1/0.mp3", "r1/0.mp3"]);
    await playAll();
    expect(player.started.at(-1)).toBe("r1/1.mp3");
    expect(states).toContain(true);
  });
});
