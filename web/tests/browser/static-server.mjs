// A minimal static server for the page benchmark: web/dist under /h5/, the browser models under
// /h5/models/, the session page at /h5/liveness with a boot block, under the same CSP as the
// real server. It has no live channel: the benchmark measures the page's own face tracking.

import { createServer } from 'node:http';
import { readFileSync, existsSync, statSync } from 'node:fs';
import { join, extname } from 'node:path';
import { ROOT } from './harness.mjs';

const TYPES = { '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.html': 'text/html', '.onnx': 'application/octet-stream' };
const CSP =
  "default-src 'self'; img-src 'self' data: blob: https:; media-src 'self' blob:; connect-src 'self'; " +
  "script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; worker-src 'self' blob:; base-uri 'none'";

export function startStatic(boot) {
  const dist = join(ROOT, 'web/dist');
  const models = join(ROOT, 'models');
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    let file = null;
    if (url.pathname === '/h5/liveness') {
      const html = readFileSync(join(dist, 'index.html'), 'utf8').replace(
        '</head>',
        `<script type="application/json" id="ol-boot">${JSON.stringify({ ...boot, serverTime: Date.now() }).replace(/</g, '\\u003c')}</script></head>`,
      );
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': CSP });
      return res.end(html);
    }
    if (url.pathname.startsWith('/h5/models/')) file = join(models, url.pathname.slice('/h5/models/'.length));
    else if (url.pathname.startsWith('/h5/')) file = join(dist, url.pathname.slice(4));
    if (!file || file.includes('..') || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, base: `http://127.0.0.1:${server.address().port}` })));
}
