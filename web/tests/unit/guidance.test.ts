import { describe, expect, it } from 'vitest';
import type { Face } from '../../src/blazeface';
import { anchors, decode, iou, letterbox, toInput } from '../../src/blazeface';
import { LIMITS, pose, Steadiness, TipHold, tipFor, type Tip } from '../../src/guidance';

const W = 640;
const H = 480;

/** A frontal face of width `w` centred at (cx, cy), keypoints where a frontal face has them. */
function face(cx: number, cy: number, w: number, opts: { yaw?: number; pitch?: number; score?: number; roll?: number } = {}): Face {
  const e = w * 0.36; // eye distance
  const roll = ((opts.roll ?? 0) * Math.PI) / 180;
  const rot = (dx: number, dy: number) => ({ x: cx + dx * Math.cos(roll) - dy * Math.sin(roll), y: cy + dx * Math.sin(roll) + dy * Math.cos(roll) });
  const yaw = opts.yaw ?? 0;
  const pitch = opts.pitch ?? 0.5;
  const eyesY = -w * 0.12;
  const mouthY = w * 0.28;
  return {
    box: { x: cx - w / 2, y: cy - w / 2, w, h: w },
    score: opts.score ?? 0.95,
    keypoints: [
      rot(-e / 2, eyesY),
      rot(e / 2, eyesY),
      rot(yaw * e, eyesY + pitch * (mouthY - eyesY)),
      rot(0, mouthY),
      rot(-w * 0.48, 0),
      rot(w * 0.48, 0),
    ],
  };
}

const tip = (faces: Face[], previous: Face | null = null, brightness: number | null = 0.5) =>
  tipFor({ faces, width: W, height: H, brightness, previous });

describe('positioning tips', () => {
  it('accepts one centred frontal face at arm’s length', () => {
    expect(tip([face(320, 240, 170)])).toBe('good');
  });
  it('asks for a face when there is none', () => {
    expect(tip([])).toBe('missing');
  });
  it('refuses a second confident face, not a faint one', () => {
    expect(tip([face(320, 240, 170), face(80, 100, 60, { score: 0.9 })])).toBe('multiple');
    expect(tip([face(320, 240, 170), face(80, 100, 60, { score: 0.52 })])).toBe('good');
  });
  it('says too far and too near from the size', () => {
    expect(tip([face(320, 240, 0.15 * H)])).toBe('tooFar');
    expect(tip([face(320, 240, 0.66 * H)])).toBe('tooNear');
  });
  it('says which way to move, in the user’s own terms (frames are unmirrored)', () => {
    // Face on the image's left = the user's right side: they move left.
    expect(tip([face(150, 240, 150)])).toBe('moveLeft');
    expect(tip([face(490, 240, 150)])).toBe('moveRight');
    expect(tip([face(320, 120, 150)])).toBe('moveDown');
    expect(tip([face(320, 370, 150)])).toBe('moveUp');
  });
  it('says not centred when off on both axes or cut by the edge', () => {
    expect(tip([face(140, 100, 150)])).toBe('notCentered');
    expect(tip([face(320, 240, 200)].map((f) => ({ ...f, box: { ...f.box, x: -30 } })))).toBe('notCentered');
  });
  it('asks to look straight when turned, tilted or nodding', () => {
    expect(tip([face(320, 240, 170, { yaw: 0.4 })])).toBe('notFrontal');
    expect(tip([face(320, 240, 170, { yaw: -0.4 })])).toBe('notFrontal');
    expect(tip([face(320, 240, 170, { pitch: 0.15 })])).toBe('notFrontal');
    expect(tip([face(320, 240, 170, { pitch: 0.9 })])).toBe('notFrontal');
    expect(tip([face(320, 240, 170, { roll: 30 })])).toBe('notFrontal');
    expect(tip([face(320, 240, 170, { roll: 10 })])).toBe('good');
  });
  it('reads a low detector score as an occlusion', () => {
    expect(tip([face(320, 240, 170, { score: 0.6 })])).toBe('occluded');
  });
  it('says too dark before anything about the pose', () => {
    expect(tip([face(320, 240, 170)], null, 0.1)).toBe('tooDark');
    expect(tip([face(320, 240, 170)], null, null)).toBe('good');
  });
  it('asks to keep still when the face moves between frames', () => {
    expect(tip([face(320, 240, 170)], face(300, 240, 170))).toBe('keepStill');
    expect(tip([face(320, 240, 170)], face(318, 240, 170))).toBe('good');
  });
  it('measures pose in the eye-line frame', () => {
    const p = pose(face(320, 240, 170, { roll: 15 }), W, H);
    expect(Math.abs(p.yawRatio)).toBeLessThan(1e-9);
    expect(p.rollDeg).toBeCloseTo(15, 6);
    expect(p.pitchRatio).toBeCloseTo(0.5, 6);
    expect(p.size).toBeCloseTo(170 / 480, 6);
    expect(LIMITS.minSize).toBeLessThan(LIMITS.maxSize);
  });
});

describe('steadiness', () => {
  it('needs the given number of good frames in a row', () => {
    const s = new Steadiness(3);
    expect(s.push('good')).toBe(false);
    expect(s.push('good')).toBe(false);
    expect(s.push('tooFar')).toBe(false);
    expect(s.progress).toBe(0);
    s.push('good');
    s.push('good');
    expect(s.push('good')).toBe(true);
    expect(s.progress).toBe(1);
  });
});

describe('BlazeFace decoding (same as crates/vision/src/detect.rs)', () => {
  it('has the 896-anchor table', () => {
    const a = anchors();
    expect(a.length).toBe(896 * 2);
    expect([a[0], a[1]]).toEqual([1 / 32, 1 / 32]);
    expect([a[1024], a[1025]]).toEqual([1 / 16, 1 / 16]);
  });
  it('decodes one anchor into frame pixels through the letterbox, and merges overlaps', () => {
    const regs = new Float32Array(896 * 16);
    const logits = new Float32Array(896).fill(-10);
    // Anchor 0 at (1/32, 1/32): shift to the centre of the input, 32×32 px box.
    for (const i of [0, 1]) {
      regs.set([64 - 4, 64 - 4, 32, 32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], i * 16);
      logits[i] = 5;
    }
    logits[2] = Number.NaN;
    const faces = decode(regs, logits, letterbox(640, 480));
    expect(faces.length).toBe(1);
    const f = faces[0];
    // 128 px input ↔ 640 px letterbox square: ×5; centre at (320, 240).
    expect(f.box.w).toBeCloseTo(160, 3);
    expect(f.box.x + f.box.w / 2).toBeCloseTo(320, 3);
    expect(f.box.y + f.box.h / 2).toBeCloseTo(240, 3);
    expect(f.score).toBeCloseTo(1 / (1 + Math.exp(-5)), 6);
  });
  it('computes IoU', () => {
    expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 5, y: 0, w: 10, h: 10 })).toBeCloseTo(50 / 150, 9);
    expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 20, y: 0, w: 10, h: 10 })).toBe(0);
  });
  it('normalises pixels to [-1, 1] in planar order', () => {
    const rgba = new Uint8ClampedArray(128 * 128 * 4);
    rgba.set([255, 0, 127.5, 255], 0);
    const t = toInput(rgba);
    expect(t[0]).toBeCloseTo(1, 6);
    expect(t[128 * 128]).toBeCloseTo(-1, 6);
    expect(t[2 * 128 * 128]).toBeCloseTo(128 * (2 / 255) - 1, 6);
  });
});

describe('tip hold', () => {
  it('keeps a tip at least 0.7 s and takes a new one once it held 0.25 s', () => {
    const hold = new TipHold(700, 250);
    expect(hold.push('tooFar', 0)).toBe('tooFar');
    // A frame that flickers to another cause does not change what is shown.
    expect(hold.push('moveLeft', 100)).toBe('tooFar');
    expect(hold.push('tooFar', 150)).toBe('tooFar');
    // The new cause holds, but the shown tip has not been up for 0.7 s yet.
    for (let t = 200; t < 700; t += 50) expect(hold.push('good', t)).toBe('tooFar');
    expect(hold.push('good', 700)).toBe('good');
    expect(hold.push('good', 750)).toBe('good');
  });

  it('shows at most one change per 0.7 s whatever the frames say', () => {
    const hold = new TipHold(700, 250);
    const tips: Tip[] = ['good', 'moveLeft', 'good', 'moveRight', 'keepStill'];
    let shown = '';
    let changes = 0;
    // Ten seconds of 22 frames a second, each frame's tip changing every few frames.
    for (let i = 0; i < 220; i++) {
      const t = (i * 1000) / 22;
      const s = hold.push(tips[Math.floor(i / 7) % tips.length], t);
      if (s !== shown) changes++;
      shown = s;
    }
    expect(changes).toBeLessThanOrEqual(Math.floor(10_000 / 700) + 1);
    expect(changes).toBeGreaterThan(3);
  });

  it('starts over after a reset', () => {
    const hold = new TipHold();
    hold.push('missing', 0);
    hold.reset();
    expect(hold.push('good', 10)).toBe('good');
  });
});
