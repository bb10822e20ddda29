// Makes a .y4m video (for Chromium's --use-file-for-fake-video-capture) from a still picture:
// the picture is decoded by Chromium itself, letterboxed into 640×480 and written as a few
// identical 4:2:0 frames — a static photo held in front of the camera, its face framed
// in the middle when `focus` says where the face is.

import { readFileSync, writeFileSync } from 'node:fs';
import { launch } from './harness.mjs';

export async function pictureToY4m(png, out, { focus = null, frames = 2 } = {}) {
  const W = 640;
  const H = 480;
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const dataUrl = `data:image/png;base64,${readFileSync(png).toString('base64')}`;
    const rgba = await page.evaluate(
      async ({ dataUrl, W, H, focus }) => {
        const img = new Image();
        img.src = dataUrl;
        await img.decode();
        const c = document.createElement('canvas');
        c.width = W;
        c.height = H;
        const ctx = c.getContext('2d');
        ctx.fillStyle = '#808080';
        ctx.fillRect(0, 0, W, H);
        if (focus) {
          // The face (focus: centre and width as fractions of the picture) in the middle.
          const s = (focus.target * H) / (focus.w * img.width);
          const w = img.width * s;
          const h = img.height * s;
          ctx.drawImage(img, W / 2 - focus.x * w, H / 2 - focus.y * h, w, h);
        } else {
          const s = Math.min(W / img.width, H / img.height);
          ctx.drawImage(img, (W - img.width * s) / 2, (H - img.height * s) / 2, img.width * s, img.height * s);
        }
        return Array.from(ctx.getImageData(0, 0, W, H).data);
      },
      { dataUrl, W, H, focus },
    );
    const y = Buffer.alloc(W * H);
    const u = Buffer.alloc((W / 2) * (H / 2));
    const v = Buffer.alloc((W / 2) * (H / 2));
    for (let j = 0; j < H; j++) {
      for (let i = 0; i < W; i++) {
        const k = 4 * (j * W + i);
        const [r, g, b] = [rgba[k], rgba[k + 1], rgba[k + 2]];
        y[j * W + i] = clamp(0.299 * r + 0.587 * g + 0.114 * b);
      }
    }
    for (let j = 0; j < H / 2; j++) {
      for (let i = 0; i < W / 2; i++) {
        let r = 0;
        let g = 0;
        let b = 0;
        for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
          const k = 4 * ((2 * j + dy) * W + 2 * i + dx);
          r += rgba[k] / 4;
          g += rgba[k + 1] / 4;
          b += rgba[k + 2] / 4;
        }
        u[j * (W / 2) + i] = clamp(128 - 0.168736 * r - 0.331264 * g + 0.5 * b);
        v[j * (W / 2) + i] = clamp(128 + 0.5 * r - 0.418688 * g - 0.081312 * b);
      }
    }
    const parts = [Buffer.from(`YUV4MPEG2 W${W} H${H} F30:1 Ip A1:1 C420jpeg\n`)];
    for (let f = 0; f < frames; f++) parts.push(Buffer.from('FRAME\n'), y, u, v);
    writeFileSync(out, Buffer.concat(parts));
  } finally {
    await browser.close();
  }
}

function clamp(x) {
  return Math.max(0, Math.min(255, Math.round(x)));
}
