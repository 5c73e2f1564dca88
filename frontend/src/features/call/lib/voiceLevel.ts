// How loud the tutor is right now, measured in the browser from the received track (a WebAudio
// AnalyserNode), to animate its avatar. Nothing is sent over the network for this.

/** The part of AudioContext we use, so that tests can pass a fake. */
export interface LevelAudioContext {
  createMediaStreamSource(stream: MediaStream): { connect(node: AnalyserNode): unknown; disconnect(): void };
  createAnalyser(): AnalyserNode;
  resume(): Promise<void>;
  close(): Promise<void>;
}

/** Root mean square of samples in [-1, 1]. */
export function rms(samples: Float32Array): number {
  let sum = 0;
  for (const s of samples) sum += s * s;
  return samples.length ? Math.sqrt(sum / samples.length) : 0;
}

/** Speech peaks around 0.1–0.3 RMS: map that range onto 0..1 for the animation. */
export function levelOf(value: number): number {
  return Math.min(1, value / 0.25);
}

export class LevelMeter {
  private readonly analyser: AnalyserNode;
  private readonly source: { disconnect(): void };
  private readonly buffer: Float32Array<ArrayBuffer>;

  constructor(
    stream: MediaStream,
    private readonly context: LevelAudioContext,
  ) {
    this.analyser = context.createAnalyser();
    this.analyser.fftSize = 1024;
    const source = context.createMediaStreamSource(stream);
    // Only to the analyser, never to the speakers: the <audio> element plays the track, and
    // Chrome's echo canceller only knows about audio played that way.
    source.connect(this.analyser);
    this.source = source;
    this.buffer = new Float32Array(this.analyser.fftSize);
  }

  /** The level now, 0 (silent) … 1 (loud speech). */
  sample(): number {
    this.analyser.getFloatTimeDomainData(this.buffer);
    return levelOf(rms(this.buffer));
  }

  /** After a click: a context created before any gesture may start suspended. */
  resume(): void {
    void this.context.resume().catch(() => {});
  }

  close(): void {
    this.source.disconnect();
    void this.context.close().catch(() => {});
  }
}
