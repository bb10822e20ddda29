// Page benchmark (docs/benchmarks-page.md): face-tracking frames per second, time from
// navigation to the first guidance, and the bytes the page downloads, in headless Chromium
// with the fake camera showing the astronaut. Usage: node tests/browser/bench.mjs [seconds]

import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { launch, phone, ROOT, until } from './harness.mjs';
import { ASTRONAUT_FOCUS, installFakeCamera, serveFakeImages } from './fake-camera.mjs';
import { startStatic } from './static-server.mjs';

const seconds = Number(process.argv[2] ?? 10);
const { server, base } = await startStatic({ signatureId: 'bench', token: 'x', wsUrl: '/h5/none', locale: 'en', tryCount: 1 });
const browser = await launch();
try {
  const context = await phone(browser);
  await serveFakeImages(context, join(ROOT, 'models/testdata/astronaut.png'));
  await installFakeCamera(context, { mode: 'photo', focus: ASTRONAUT_FOCUS });
  const page = await context.newPage();
  const bytes = new Map();
  page.on('response', async (r) => {
    try {
      const b = await r.body();
      bytes.set(new URL(r.url()).pathname, b);
    } catch {}
  });
  const t0 = Date.now();
  await page.goto(`${base}/h5/liveness`);
  await until('the start button', () => page.evaluate(() => document.body.dataset.state === 'permission'), 60_000, 20);
  const ready = Date.now() - t0;
  const clickAt = await page.evaluate(() => {
    document.querySelector('[data-testid=start]').click();
    return performance.now();
  });
  const firstGuidance = await until('first guidance', () => page.evaluate(() => (window.__ol.stats.firstGuidanceAt > 0 ? window.__ol.stats.firstGuidanceAt : 0)), 30_000, 10);
  const s0 = await page.evaluate(() => ({ ...window.__ol.stats }));
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const s1 = await page.evaluate(() => ({ ...window.__ol.stats }));
  const fps = (s1.analysed - s0.analysed) / seconds;
  const msPerFrame = (s1.analyseMs - s0.analyseMs) / Math.max(1, s1.analysed - s0.analysed);
  let raw = 0;
  let gz = 0;
  const rows = [];
  for (const [path, b] of bytes) {
    const g = gzipSync(b, { level: 9 }).length;
    raw += b.length;
    gz += g;
    rows.push(`${path}\t${b.length}\t${g}`);
  }
  const tip = await page.evaluate(() => document.querySelector('.instruction')?.textContent);
  console.log(rows.join('\n'));
  console.log(JSON.stringify({
    loadToStartButtonMs: ready,
    navigationToFirstGuidanceMs: Math.round(firstGuidance),
    startClickToFirstGuidanceMs: Math.round(firstGuidance - clickAt),
    fps: Number(fps.toFixed(1)),
    detectorMsPerFrame: Number(msPerFrame.toFixed(1)),
    bytesRaw: raw,
    bytesGzip: gz,
    tip,
  }, null, 1));
} finally {
  await browser.close();
  server.close();
}
