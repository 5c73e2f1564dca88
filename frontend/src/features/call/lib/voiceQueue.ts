// The tutor's voice: one audio clip per sentence (ai-audio), played strictly one after another,
// in `seq` order within a reply and replies in the order they started. Plain TypeScript around an
// injected player, so the ordering, stop and autoplay rules are unit-tested without audio.

export interface VoiceClip {
  reply_id: string;
  seq: number;
  url: string;
  text: string;
}

export interface Player {
  /** Resolves when the clip is over: true if it played to its end, false if it was stopped or
   * could not load (it is skipped); rejects with a NotAllowedError DOMException when the
   * browser blocks autoplay. */
  play(url: string): Promise<boolean>;
  /** Stop the current clip; its play() promise resolves. */
  stop(): void;
}

export interface VoiceState {
  enabled: boolean;
  /** The browser refused to play without a click: show "Enable sound". */
  blocked: boolean;
  speaking: VoiceClip | null;
  queued: number;
  played: number;
}

/** How long a missing sentence may hold up the ones after it. */
const GAP_WAIT_MS = 2000;

export class VoiceQueue {
  private clips: VoiceClip[] = [];
  private replyOrder: string[] = [];
  private nextSeq = new Map<string, number>();
  private finished = new Set<string>();
  private stopped = new Set<string>();
  private current: VoiceClip | null = null;
  private blocked = false;
  private enabled = true;
  private played = 0;
  private gapTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly player: Player,
    private readonly onChange: (state: VoiceState) => void = () => {},
    enabled = true,
  ) {
    this.enabled = enabled;
  }

  get state(): VoiceState {
    return {
      enabled: this.enabled,
      blocked: this.blocked,
      speaking: this.current,
      queued: this.clips.length,
      played: this.played,
    };
  }

  push(clip: VoiceClip): void {
    if (!this.enabled || this.stopped.has(clip.reply_id)) return;
    if (this.clips.some((c) => c.reply_id === clip.reply_id && c.seq === clip.seq)) return;
    if (!this.replyOrder.includes(clip.reply_id)) this.replyOrder.push(clip.reply_id);
    this.clips.push(clip);
    this.pump();
  }

  /** The reply is complete (ai-done): no more clips will come, so gaps no longer hold it up. */
  finish(replyId: string): void {
    this.finished.add(replyId);
    this.pump();
  }

  /** Interrupt: drop a reply's clips (or every reply's) and stop what is playing. */
  stop(replyId?: string): void {
    const hit = (c: VoiceClip) => replyId === undefined || c.reply_id === replyId;
    for (const c of this.clips) if (hit(c)) this.stopped.add(c.reply_id);
    if (replyId !== undefined) this.stopped.add(replyId);
    else this.replyOrder.forEach((r) => this.stopped.add(r));
    this.clips = this.clips.filter((c) => !hit(c));
    if (this.current && hit(this.current)) {
      this.stopped.add(this.current.reply_id);
      this.player.stop();
    }
    this.emit();
  }

  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
    if (!enabled) {
      this.clips = [];
      this.blocked = false;
      if (this.current) this.player.stop();
    }
    this.emit();
  }

  /** Call from a click handler: playing inside a user gesture lifts the autoplay block. */
  resume(): void {
    this.blocked = false;
    this.pump();
  }

  dispose(): void {
    clearTimeout(this.gapTimer);
    this.clips = [];
    if (this.current) this.player.stop();
  }

  private nextClip(): VoiceClip | null {
    for (const replyId of this.replyOrder) {
      const mine = this.clips.filter((c) => c.reply_id === replyId).sort((a, b) => a.seq - b.seq);
      if (mine.length === 0) continue;
      const expected = this.nextSeq.get(replyId);
      const first = mine[0];
      if (expected === undefined || first.seq <= expected || this.finished.has(replyId)) {
        return first;
      }
      // A sentence is missing: wait a little for it, then go on without it.
      clearTimeout(this.gapTimer);
      this.gapTimer = setTimeout(() => {
        this.nextSeq.set(replyId, first.seq);
        this.pump();
      }, GAP_WAIT_MS);
      return null;
    }
    return null;
  }

  private pump(): void {
    if (this.current || this.blocked || !this.enabled) {
      this.emit();
      return;
    }
    const clip = this.nextClip();
    if (!clip) {
      this.emit();
      return;
    }
    clearTimeout(this.gapTimer);
    this.clips = this.clips.filter((c) => c !== clip);
    this.current = clip;
    this.emit();
    // play() is called synchronously here, so resume() inside a click counts as a user gesture.
    this.player.play(clip.url).then(
      (completed) => {
        this.current = null;
        if (completed) this.played += 1;
        this.nextSeq.set(clip.reply_id, clip.seq + 1);
        this.pump();
      },
      (error: unknown) => {
        this.current = null;
        if ((error as DOMException | undefined)?.name === "NotAllowedError") {
          // Put it back at the front and wait for a click.
          this.clips.unshift(clip);
          this.blocked = true;
          this.emit();
          return;
        }
        this.nextSeq.set(clip.reply_id, clip.seq + 1);
        this.pump();
      },
    );
  }

  private emit(): void {
    this.onChange(this.state);
  }
}

/** The real player: one <audio> element, reused. */
export class AudioElementPlayer implements Player {
  private finish: ((completed: boolean) => void) | null = null;

  constructor(readonly element: HTMLAudioElement = new Audio()) {
    element.preload = "auto";
  }

  play(url: string): Promise<boolean> {
    this.finish?.(false);
    const el = this.element;
    return new Promise<boolean>((resolve, reject) => {
      let watchdog: ReturnType<typeof setTimeout> | undefined;
      const ended = () => done(true);
      const failed = () => done(false);
      // If "ended" never comes (seen with a stalled audio output), the clip still counts as
      // over a little after its length: one lost event must not silence the tutor for good.
      const playing = () => {
        clearTimeout(watchdog);
        const left = Number.isFinite(el.duration) ? el.duration - el.currentTime : 30;
        watchdog = setTimeout(ended, (left + 2) * 1000);
      };
      const unlisten = () => {
        clearTimeout(watchdog);
        el.removeEventListener("ended", ended);
        el.removeEventListener("error", failed);
        el.removeEventListener("playing", playing);
      };
      const done = (completed: boolean) => {
        unlisten();
        if (this.finish === done) this.finish = null;
        resolve(completed);
      };
      this.finish = done;
      el.addEventListener("ended", ended);
      el.addEventListener("error", failed);
      el.addEventListener("playing", playing);
      el.src = url;
      el.play().catch((error: unknown) => {
        if ((error as DOMException).name === "NotAllowedError") {
          unlisten();
          if (this.finish === done) this.finish = null;
          reject(error);
        } else {
          done(false);
        }
      });
    });
  }

  stop(): void {
    this.element.pause();
    this.finish?.(false);
  }
}
