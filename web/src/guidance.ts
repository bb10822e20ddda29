// Positioning guidance from the detector's faces: one tip at a time, the most important first.
// Guidance only — the server measures every frame itself and decides. Pure, unit-tested.

import type { Face, Point } from './blazeface';

export type Tip =
  | 'missing'
  | 'multiple'
  | 'tooDark'
  | 'notCentered'
  | 'moveLeft'
  | 'moveRight'
  | 'moveUp'
  | 'moveDown'
  | 'tooFar'
  | 'tooNear'
  | 'notFrontal'
  | 'occluded'
  | 'keepStill'
  | 'good';

export const LIMITS = {
  /** A second face counts from this detector score (the main face needs only 0.5). */
  secondFaceScore: 0.6,
  /** Face box width over the frame's shorter side. */
  minSize: 0.22,
  maxSize: 0.6,
  /** Centre offset per axis, as a fraction of the half-frame. */
  maxOffsetX: 0.25,
  maxOffsetY: 0.3,
  /** Nose offset from the eye midpoint over the eye distance (≈ yaw). */
  maxYawRatio: 0.28,
  /** Nose depth below the eyes over the eyes-to-mouth distance (≈ pitch); frontal ≈ 0.5. */
  minPitchRatio: 0.28,
  maxPitchRatio: 0.75,
  maxRollDeg: 20,
  /** A detector score this low on the main face usually means a hand, mask or hair over it. */
  occludedBelow: 0.7,
  /** Mean luma (0–1) of the face box. */
  minBrightness: 0.18,
  /** Movement of the box centre between two frames, over the box width. */
  maxMotion: 0.06,
} as const;

export interface Pose {
  size: number;
  offsetX: number;
  offsetY: number;
  yawRatio: number;
  pitchRatio: number;
  rollDeg: number;
}

const mid = (a: Point, b: Point): Point => ({ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 });

/** Size, position and a coarse head pose of one face in a width×height frame (unmirrored). */
export function pose(face: Face, width: number, height: number): Pose {
  const [rEye, lEye, nose, mouth] = face.keypoints;
  const eyes = mid(rEye, lEye);
  const dx = lEye.x - rEye.x;
  const dy = lEye.y - rEye.y;
  const eyeDist = Math.hypot(dx, dy) || 1;
  // In the eye-line frame, so a tilted head does not read as a turned one.
  const ux = dx / eyeDist;
  const uy = dy / eyeDist;
  const nx = nose.x - eyes.x;
  const ny = nose.y - eyes.y;
  const mx = mouth.x - eyes.x;
  const my = mouth.y - eyes.y;
  const along = nx * ux + ny * uy;
  const down = -nx * uy + ny * ux;
  const mouthDown = -mx * uy + my * ux || 1;
  const cx = face.box.x + face.box.w / 2;
  const cy = face.box.y + face.box.h / 2;
  return {
    size: face.box.w / Math.min(width, height),
    offsetX: (cx - width / 2) / (width / 2),
    offsetY: (cy - height / 2) / (height / 2),
    yawRatio: along / eyeDist,
    pitchRatio: down / mouthDown,
    rollDeg: (Math.atan2(dy, dx) * 180) / Math.PI,
  };
}

export interface GuidanceInput {
  faces: Face[];
  width: number;
  height: number;
  /** Mean luma of the main face's box, 0–1; null when unmeasured. */
  brightness: number | null;
  /** The main face of the previous analysed frame, for the stillness check. */
  previous: Face | null;
}

/** The tip to show for one analysed frame, in order of what the user must fix first. */
export function tipFor(input: GuidanceInput): Tip {
  const { faces, width, height } = input;
  if (faces.length === 0) return 'missing';
  if (faces.slice(1).some((f) => f.score >= LIMITS.secondFaceScore)) return 'multiple';
  const face = faces[0];
  if (input.brightness !== null && input.brightness < LIMITS.minBrightness) return 'tooDark';
  const p = pose(face, width, height);
  const offX = Math.abs(p.offsetX) > LIMITS.maxOffsetX;
  const offY = Math.abs(p.offsetY) > LIMITS.maxOffsetY;
  const clipped = face.box.x < 0 || face.box.y < 0 || face.box.x + face.box.w > width || face.box.y + face.box.h > height;
  if ((offX && offY) || (clipped && p.size <= LIMITS.maxSize)) return 'notCentered';
  // Tips speak of the user's own movement. Frames are unmirrored: a face on the image's left
  // is on the user's right, so they move left. A face high in the frame moves down.
  if (offX) return p.offsetX < 0 ? 'moveLeft' : 'moveRight';
  if (offY) return p.offsetY < 0 ? 'moveDown' : 'moveUp';
  if (p.size < LIMITS.minSize) return 'tooFar';
  if (p.size > LIMITS.maxSize) return 'tooNear';
  if (
    Math.abs(p.yawRatio) > LIMITS.maxYawRatio ||
    p.pitchRatio < LIMITS.minPitchRatio ||
    p.pitchRatio > LIMITS.maxPitchRatio ||
    Math.abs(p.rollDeg) > LIMITS.maxRollDeg
  ) {
    return 'notFrontal';
  }
  if (face.score < LIMITS.occludedBelow) return 'occluded';
  if (input.previous && motion(input.previous, face) > LIMITS.maxMotion) return 'keepStill';
  return 'good';
}

/** Movement of the box centre between two detections, over the box width. */
export function motion(a: Face, b: Face): number {
  const dx = a.box.x + a.box.w / 2 - (b.box.x + b.box.w / 2);
  const dy = a.box.y + a.box.h / 2 - (b.box.y + b.box.h / 2);
  return Math.hypot(dx, dy) / Math.max(1, b.box.w);
}

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
