// Test harness: the real `openliveness serve --demo` on 127.0.0.1:0 with a fresh data
// directory, sessions created through the real ADVANCE-compatible API, and Debian's Chromium
// driven by playwright-core. One browser at a time.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = process.env.OPENLIVENESS_BIN ?? join(ROOT, 'target/debug/openliveness');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const SHOTS = process.env.OL_SCREENSHOTS ? resolve(process.env.OL_SCREENSHOTS) : null;

export const BASE_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
];

/** Polls `fn` until it returns a truthy value or the deadline passes. */
export async function until(what, fn, timeoutMs = 30_000, everyMs = 100) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export class Server {
  static async start(env = {}) {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: cargo build -p openliveness`);
    const dataDir = mkdtempSync(join(tmpdir(), 'ol-web-'));
    const child = spawn(BIN, ['serve', '--demo', '--bind', '127.0.0.1:0', '--data-dir', dataDir], {
      cwd: ROOT,
      env: { ...process.env, OPENLIVENESS_LOG: process.env.OPENLIVENESS_LOG ?? 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const s = new Server(child, dataDir);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      s.log += d;
      if (process.env.OL_SERVER_LOG) process.stderr.write(d);
    });
    s.base = await until(
      'the server to listen',
      () => {
        if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode}: ${s.log}`);
        const m = out.match(/openliveness listening on (http:\/\/\S+)/);
        return m && m[1];
      },
      60_000,
    );
    s.creds = JSON.parse(readFileSync(join(dataDir, 'demo-credentials.json'), 'utf8'));
    s.pageBase = s.base;
    if (process.env.OL_PAGE_FROM_DIST) {
      const { startDevProxy } = await import('./dev-proxy.mjs');
      s.proxy = await startDevProxy(s.base);
      s.pageBase = s.proxy.base;
    }
    return s;
  }

  constructor(child, dataDir) {
    this.child = child;
    this.dataDir = dataDir;
    this.log = '';
  }

  async api(path, body, token) {
    const res = await fetch(this.base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { 'x-access-token': token } : {}) },
      body: JSON.stringify(body),
    });
    const json = await res.json();
    return json;
  }

  /** generate-token, signed as docs/api.md shows: sha256(accessKey + secretKey + timestamp). */
  async accessToken() {
    if (this.token) return this.token;
    const ts = String(Date.now());
    const { accessKey, secretKey } = this.creds;
    const signature = createHash('sha256').update(accessKey + secretKey + ts).digest('hex');
    const r = await this.api('/openapi/auth/ticket/v1/generate-token', { accessKey, timestamp: ts, signature });
    if (r.code !== 'SUCCESS') throw new Error(`generate-token: ${JSON.stringify(r)}`);
    this.token = r.data.token;
    return this.token;
  }

  async session(body = {}) {
    const r = await this.api(
      '/openapi/liveness/v2/h5/token',
      { returnUrl: 'https://example.com/kyc/done', failedReturnUrl: 'https://example.com/kyc/failed', region: 'IDN', tryCount: 1, ...body },
      await this.accessToken(),
    );
    if (r.code !== 'SUCCESS') throw new Error(`Get Token: ${JSON.stringify(r)}`);
    return { ...r.data, url: this.pageUrl(r.data.url) }; // { signatureId, url }
  }

  /** A page URL of this server, through the development proxy when one runs. */
  pageUrl(url) {
    return url.replace(this.base, this.pageBase);
  }

  async result(signatureId) {
    return this.api('/openapi/liveness/v4/h5/get-result', { signatureId }, await this.accessToken());
  }

  async configureUI(body) {
    const r = await this.api('/openapi/liveness/v1/h5/configureUI', body, await this.accessToken());
    if (r.code !== 'SUCCESS') throw new Error(`configureUI: ${JSON.stringify(r)}`);
  }

  async stop() {
    this.proxy?.server.close();
    if (this.child.exitCode === null) {
      this.child.kill('SIGTERM');
      await until('the server to stop', () => this.child.exitCode !== null || this.child.signalCode !== null, 15_000).catch(() => this.child.kill('SIGKILL'));
    }
    if (process.env.OL_KEEP_DATA) console.log(`# data kept in ${this.dataDir}`);
    else rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Launches Chromium; `denyCamera` answers every permission prompt "no", as a user refusing. */
/** `noDevice` (with `denyCamera`) leaves the browser without any camera. */
export async function launch(extraFlags = [], { denyCamera = false, noDevice = false } = {}) {
  const denied = BASE_FLAGS.filter((f) => f !== '--use-fake-ui-for-media-stream').concat('--deny-permission-prompts');
  if (!noDevice) denied.push('--use-fake-device-for-media-stream');
  const base = denyCamera ? denied : BASE_FLAGS;
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...base, ...extraFlags],
    ignoreDefaultArgs: ['--mute-audio'],
  });
}

/** A phone-sized context (390×844), as the screenshots in docs/page.md. */
export async function phone(browser, opts = {}) {
  return browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, hasTouch: true, isMobile: false, ...opts });
}

export async function state(page) {
  return page.evaluate(() => document.body.dataset.state ?? '');
}

export async function waitState(page, names, timeoutMs = 30_000) {
  const want = Array.isArray(names) ? names : [names];
  let seen = '';
  try {
    return await until(`state ${want.join('|')}`, async () => {
      seen = await state(page);
      return want.includes(seen) ? seen : false;
    }, timeoutMs, 50);
  } catch (e) {
    const text = await page.evaluate(() => document.querySelector('.panel')?.textContent ?? '').catch(() => '');
    throw new Error(`${e.message}; the page is in state "${seen}": ${text.slice(0, 300)}`);
  }
}

/** Saves a screenshot named `name.png` when OL_SCREENSHOTS is set. */
export async function shot(page, name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  // A frame (iframe tests) is photographed through its page.
  const target = typeof page.screenshot === 'function' ? page : page.page();
  await target.screenshot({ path: join(SHOTS, `${name}.png`) });
}
