// BlazeFace (short range) decoding, the same as the server's detector (crates/vision/src/detect.rs):
// 896 anchors (16×16×2 then 8×8×6), sigmoid scores, MediaPipe's weighted suppression.
// Pure: regressors and logits in, faces in frame pixels out.

export const INPUT_SIDE = 128;
const NUM_ANCHORS = 896;
const VALUES = 16;

export interface Point {
  x: number;
  y: number;
}
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}
/** One face; keypoints: right eye, left eye, nose tip, mouth, right ear, left ear (subject's sides). */
export interface Face {
  box: Box;
  score: number;
  keypoints: Point[];
}

/** The square the frame was letterboxed into: centre and side, in frame pixels. */
export interface Letterbox {
  cx: number;
  cy: number;
  size: number;
}

export function letterbox(width: number, height: number): Letterbox {
  return { cx: width / 2, cy: height / 2, size: Math.max(width, height) };
}

let anchorCache: Float32Array | null = null;
/** Anchor centres (x, y pairs) in the unit square, in the model's output order. */
export function anchors(): Float32Array {
  if (anchorCache) return anchorCache;
  const out = new Float32Array(NUM_ANCHORS * 2);
  let i = 0;
  for (const [grid, perCell] of [
    [16, 2],
    [8, 6],
  ]) {
    for (let y = 0; y < grid; y++) {
      for (let x = 0; x < grid; x++) {
        for (let k = 0; k < perCell; k++) {
          out[i++] = (x + 0.5) / grid;
          out[i++] = (y + 0.5) / grid;
        }
      }
    }
  }
  anchorCache = out;
  return out;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export function iou(a: Box, b: Box): number {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.w, b.x + b.w);
  const y1 = Math.min(a.y + a.h, b.y + b.h);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

export function decode(regressors: Float32Array, logits: Float32Array, lb: Letterbox, minScore = 0.5): Face[] {
  const a = anchors();
  const side = INPUT_SIDE;
  const toImage = (u: number, v: number): Point => ({
    x: lb.cx + (u - 0.5) * lb.size,
    y: lb.cy + (v - 0.5) * lb.size,
  });
  const found: Face[] = [];
  const n = Math.min(NUM_ANCHORS, logits.length, Math.floor(regressors.length / VALUES));
  for (let i = 0; i < n; i++) {
    const score = sigmoid(Math.max(-100, Math.min(100, logits[i])));
    if (!(score >= minScore)) continue;
    const r = regressors.subarray(i * VALUES, (i + 1) * VALUES);
    const ax = a[2 * i];
    const ay = a[2 * i + 1];
    const cx = ax + r[0] / side;
    const cy = ay + r[1] / side;
    const w = r[2] / side;
    const h = r[3] / side;
    const p0 = toImage(cx - w / 2, cy - h / 2);
    const p1 = toImage(cx + w / 2, cy + h / 2);
    const keypoints: Point[] = [];
    for (let k = 0; k < 6; k++) keypoints.push(toImage(ax + r[4 + 2 * k] / side, ay + r[5 + 2 * k] / side));
    found.push({ box: { x: p0.x, y: p0.y, w: p1.x - p0.x, h: p1.y - p0.y }, score, keypoints });
  }
  return weightedNms(found, 0.3);
}

function weightedNms(candidates: Face[], threshold: number): Face[] {
  let rest = [...candidates].sort((p, q) => q.score - p.score);
  const out: Face[] = [];
  while (rest.length > 0) {
    const best = rest[0];
    const group = rest.filter((d) => iou(d.box, best.box) > threshold);
    rest = rest.filter((d) => !(iou(d.box, best.box) > threshold));
    const total = group.reduce((s, d) => s + d.score, 0);
    if (total <= 0) {
      out.push(best);
      continue;
    }
    const avg = (f: (d: Face) => number): number => group.reduce((s, d) => s + f(d) * d.score, 0) / total;
    out.push({
      score: best.score,
      box: { x: avg((d) => d.box.x), y: avg((d) => d.box.y), w: avg((d) => d.box.w), h: avg((d) => d.box.h) },
      keypoints: best.keypoints.map((_, k) => ({ x: avg((d) => d.keypoints[k].x), y: avg((d) => d.keypoints[k].y) })),
    });
  }
  // Largest first: the main face is faces[0], as on the server.
  return out.sort((p, q) => q.box.w * q.box.h - p.box.w * p.box.h);
}

/**
 * RGBA pixels of the 128×128 letterboxed input → NCHW floats in [-1, 1] (the server's
 * normalisation). Pixels outside the frame were left black by the caller, as on the server.
 */
export function toInput(rgba: Uint8ClampedArray, out: Float32Array = new Float32Array(3 * side2())): Float32Array {
  const plane = side2();
  for (let i = 0; i < plane; i++) {
    out[i] = rgba[4 * i] * (2 / 255) - 1;
    out[plane + i] = rgba[4 * i + 1] * (2 / 255) - 1;
    out[2 * plane + i] = rgba[4 * i + 2] * (2 / 255) - 1;
  }
  return out;
}

function side2(): number {
  return INPUT_SIDE * INPUT_SIDE;
}
