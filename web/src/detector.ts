// The browser face detector: the server's own BlazeFace ONNX model run by onnxruntime-web
// (single-threaded WebAssembly with SIMD, no cross-origin isolation needed). Guidance only.

import * as ort from 'onnxruntime-web/wasm';
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import { decode, INPUT_SIDE, letterbox, toInput, type Face } from './blazeface';

/** The model file this page loads; the server serves it from its models directory. */
export const DETECTOR_FILE = 'face_detector.onnx';

export interface Analysis {
  faces: Face[];
  /** Mean luma (0–1) inside the main face's box, sampled from the detector input. */
  brightness: number | null;
  ms: number;
}

export class Detector {
  private readonly input = document.createElement('canvas');
  private readonly ctx: CanvasRenderingContext2D;
  private readonly tensorData = new Float32Array(3 * INPUT_SIDE * INPUT_SIDE);

  private constructor(private readonly session: ort.InferenceSession) {
    this.input.width = INPUT_SIDE;
    this.input.height = INPUT_SIDE;
    const ctx = this.input.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('no 2-D canvas');
    this.ctx = ctx;
  }

  /** Loads the runtime and the model; `onProgress` hears the share (0–1) downloaded so far. */
  static async load(modelsBase: string, onProgress: (fraction: number) => void = () => {}): Promise<Detector> {
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.wasm.wasmPaths = { wasm: wasmUrl };
    // The runtime is nine tenths of what is downloaded: its bytes drive the progress.
    const [wasm, bytes] = await Promise.all([
      download(wasmUrl, __ORT_WASM_BYTES__, (f) => onProgress(0.9 * f)),
      download(modelsBase + DETECTOR_FILE, 0, () => {}),
    ]);
    ort.env.wasm.wasmBinary = wasm;
    onProgress(1);
    const session = await ort.InferenceSession.create(bytes, {
      executionProviders: ['wasm'],
      graphOptimizationLevel: 'all',
    });
    const d = new Detector(session);
    // The first run sets up the kernels; doing it now keeps it off the first guided frame.
    await session.run({ input: new ort.Tensor('float32', d.tensorData, [1, 3, INPUT_SIDE, INPUT_SIDE]) });
    return d;
  }

  /** Detects faces in `source` (w×h pixels); boxes come back in the source's pixels. */
  async analyse(source: CanvasImageSource, w: number, h: number): Promise<Analysis> {
    const t0 = performance.now();
    const lb = letterbox(w, h);
    const scale = INPUT_SIDE / lb.size;
    const ctx = this.ctx;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, INPUT_SIDE, INPUT_SIDE);
    const dw = w * scale;
    const dh = h * scale;
    ctx.drawImage(source, (INPUT_SIDE - dw) / 2, (INPUT_SIDE - dh) / 2, dw, dh);
    const pixels = ctx.getImageData(0, 0, INPUT_SIDE, INPUT_SIDE).data;
    toInput(pixels, this.tensorData);
    const tensor = new ort.Tensor('float32', this.tensorData, [1, 3, INPUT_SIDE, INPUT_SIDE]);
    const out = await this.session.run({ input: tensor });
    const faces = decode(out.regressors.data as Float32Array, out.classificators.data as Float32Array, lb);
    let brightness: number | null = null;
    if (faces.length > 0) {
      // Face box in input pixels.
      const b = faces[0].box;
      const x0 = Math.max(0, Math.floor((b.x - lb.cx) * scale + INPUT_SIDE / 2));
      const y0 = Math.max(0, Math.floor((b.y - lb.cy) * scale + INPUT_SIDE / 2));
      const x1 = Math.min(INPUT_SIDE, Math.ceil((b.x + b.w - lb.cx) * scale + INPUT_SIDE / 2));
      const y1 = Math.min(INPUT_SIDE, Math.ceil((b.y + b.h - lb.cy) * scale + INPUT_SIDE / 2));
      let sum = 0;
      let n = 0;
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const i = 4 * (y * INPUT_SIDE + x);
          sum += 0.299 * pixels[i] + 0.587 * pixels[i + 1] + 0.114 * pixels[i + 2];
          n++;
        }
      }
      brightness = n > 0 ? sum / n / 255 : null;
    }
    return { faces, brightness, ms: performance.now() - t0 };
  }
}

/** The bytes at `url`, reporting the share of `expected` bytes received (decoded) so far. */
async function download(url: string, expected: number, onProgress: (fraction: number) => void): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url.split('/').pop()}: HTTP ${res.status}`);
  if (!res.body || expected <= 0) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    got += value.length;
    onProgress(Math.min(1, got / expected));
  }
  const out = new Uint8Array(got);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
