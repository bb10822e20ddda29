// Development aid, not used by CI: sits in front of the real server and replaces the page
// embedded in the binary by the current web/dist, so a page change can be tried against the
// real server without rebuilding the binary. Everything else (API, live channel, models,
// status) goes to the real server untouched. Enabled in the harness with OL_PAGE_FROM_DIST=1.

import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join, extname } from 'node:path';
import { ROOT } from './harness.mjs';

const TYPES = { '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' };

export function startDevProxy(upstream) {
  const up = new URL(upstream);
  const dist = join(ROOT, 'web/dist');
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname.startsWith('/h5/assets/')) {
      const file = join(dist, url.pathname.slice(4));
      if (!file.includes('..') && existsSync(file)) {
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
        return res.end(readFileSync(file));
      }
    }
    if (req.method === 'GET' && url.pathname === '/h5/liveness') {
      const r = await fetch(upstream + req.url, { headers: { cookie: req.headers.cookie ?? '' } });
      const html = await r.text();
      const boot = html.match(/<script type="application\/json" id="ol-boot">[\s\S]*?<\/script>/);
      const headers = Object.fromEntries([...r.headers].filter(([k]) => !['content-length', 'content-encoding', 'transfer-encoding'].includes(k)));
      res.writeHead(r.status, headers);
      return res.end(boot ? readFileSync(join(dist, 'index.html'), 'utf8').replace('</head>', `${boot[0]}</head>`) : html);
    }
    const p = request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    req.pipe(p);
  });
  server.on('upgrade', (req, socket, head) => {
    const s = connect(Number(up.port), up.hostname, () => {
      s.write(`${req.method} ${req.url} HTTP/1.1\r\n${Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`);
      if (head.length) s.write(head);
      s.pipe(socket);
      socket.pipe(s);
    });
    s.on('error', () => socket.destroy());
    socket.on('error', () => s.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, base: `http://127.0.0.1:${server.address().port}` })));
}
