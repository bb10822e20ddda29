// Positioning guidance as the user sees it. The server measures every streamed frame and sends
// each one's tip (`guide`, crates/liveness/src/guide.rs); here those tips are held so they do not
// flicker, counted until the user is ready, and the frames they speak of are kept until then.
// Pure, unit-tested.

import type { Tip } from './protocol';

export type { Tip };

/**
 * Counts consecutive good frames; the page asks for the challenge once `needed` in a row were
 * good (about a second), which also gives the server its baseline frames.
 */
export class Steadiness {
  private run = 0;
  constructor(private readonly needed: number) {}
  push(tip: Tip): boolean {
    this.run = tip === 'good' ? this.run + 1 : 0;
    return this.run >= this.needed;
  }
  get progress(): number {
    return Math.min(1, this.run / this.needed);
  }
  reset(): void {
    this.run = 0;
  }
}

/**
 * What the user is shown, as opposed to what one frame says: a tip stays up for at least
 * `minMs`, and a new one replaces it only once it has held for `confirmMs`, so a person
 * moving near a limit is not shown two causes in turn several times a second. "good" and
 * "missing" are confirmed as quickly as any other tip: no tip is favoured. The frames
 * themselves (and the readiness count) still use every frame's own tip.
 */
export class TipHold {
  private shown: Tip | null = null;
  private shownAt = 0;
  private candidate: Tip | null = null;
  private candidateSince = 0;
  constructor(
    private readonly minMs = 700,
    private readonly confirmMs = 250,
  ) {}

  /** The tip to show at `now` (ms), given this frame's tip. */
  push(tip: Tip, now: number): Tip {
    if (this.shown === null) {
      this.shown = tip;
      this.shownAt = now;
      return tip;
    }
    if (tip === this.shown) {
      this.candidate = null;
      return tip;
    }
    if (tip !== this.candidate) {
      this.candidate = tip;
      this.candidateSince = now;
    }
    if (now - this.shownAt >= this.minMs && now - this.candidateSince >= this.confirmMs) {
      this.shown = tip;
      this.shownAt = now;
      this.candidate = null;
    }
    return this.shown;
  }

  reset(): void {
    this.shown = null;
    this.candidate = null;
  }
}

/**
 * The last `capacity` items pushed, by key (frames by sequence number). `push` hands back the
 * item it evicts for reuse, so a ring of canvases allocates only `capacity` of them.
 */
export class FrameRing<T> {
  private readonly items: { key: number; item: T }[] = [];
  constructor(private readonly capacity: number) {}
  push(key: number, make: (reuse: T | null) => T): T {
    const evicted = this.items.length >= this.capacity ? this.items.shift() : undefined;
    const item = make(evicted ? evicted.item : null);
    this.items.push({ key, item });
    return item;
  }
  get(key: number): T | null {
    return this.items.find((e) => e.key === key)?.item ?? null;
  }
  clear(): void {
    this.items.length = 0;
  }
}
