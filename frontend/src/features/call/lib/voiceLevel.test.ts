import { describe, expect, it, vi } from "vitest";
import { LevelMeter, levelOf, rms, type LevelAudioContext } from "./voiceLevel";

function fakeContext(samples: () => number[]) {
  const source = { connect: vi.fn(), disconnect: vi.fn() };
  const analyser = {
    fftSize: 2048,
    getFloatTimeDomainData: (buffer: Float32Array) => buffer.set(samples().slice(0, buffer.length)),
  };
  const context = {
    createMediaStreamSource: vi.fn(() => source),
    createAnalyser: () => analyser as unknown as AnalyserNode,
    resume: vi.fn(() => Promise.resolve()),
    close: vi.fn(() => Promise.resolve()),
  } satisfies LevelAudioContext;
  return { context, source, analyser };
}

describe("voice level", () => {
  it("is the RMS of the samples, scaled so that speech fills the range", () => {
    expect(rms(new Float32Array([0.5, -0.5, 0.5, -0.5]))).toBeCloseTo(0.5);
    expect(rms(new Float32Array(0))).toBe(0);
    expect(levelOf(0)).toBe(0);
    expect(levelOf(0.125)).toBeCloseTo(0.5);
    expect(levelOf(0.9)).toBe(1);
  });

  it("reads the received track through an analyser that is not wired to the speakers", () => {
    let loud = false;
    const { context, source } = fakeContext(() => new Array(1024).fill(loud ? 0.3 : 0.001));
    const stream = { id: "tutor" } as MediaStream;
    const meter = new LevelMeter(stream, context);
    expect(context.createMediaStreamSource).toHaveBeenCalledWith(stream);
    expect(source.connect).toHaveBeenCalledTimes(1);
    expect(meter.sample()).toBeLessThan(0.01);
    loud = true;
    expect(meter.sample()).toBe(1);
    meter.close();
    expect(source.disconnect).toHaveBeenCalled();
    expect(context.close).toHaveBeenCalled();
  });
});
