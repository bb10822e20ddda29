// The follow part's dot: where a `look` target is drawn on the stage (pure, unit-tested).
//
// The target is in the user's own view: x towards their right, y up, −1…1. The preview is
// mirrored like a mirror, so the user's right is the screen's right — also in a right-to-left
// language, which is why the dot is placed with physical `left`/`top`, never logical sides.

import type { Target } from './protocol';

/** The oval's centre on the stage, in % (style.css `.ring`: inset 12% 14% 16%). */
const CENTRE = { left: 50, top: 48 };
/** Full reach lands a little beyond the oval's edge (its half-axes are 36%), so turning the
 * head, not only the eyes, is the natural way to face it. */
const REACH = { x: 41, y: 40 };
/** The dot stays whole on the stage (it is ≥ 44 px on a ≥ 300 px stage). */
const MARGIN = 7;

export function dotPosition(t: Target): { left: number; top: number } {
  const clamp = (v: number): number => Math.max(MARGIN, Math.min(100 - MARGIN, v));
  return { left: clamp(CENTRE.left + t.x * REACH.x), top: clamp(CENTRE.top - t.y * REACH.y) };
}

/** The centre target ends the follow part ("look back at the middle"). */
export function isCentre(t: Target): boolean {
  return Math.abs(t.x) < 0.05 && Math.abs(t.y) < 0.05;
}

/** `dataset.target` for tests: "x,y" as the server sent it. */
export function targetKey(t: Target): string {
  return `${t.x},${t.y}`;
}
