// The bootstrap the server injects into the page as <script type="application/json" id="ol-boot">.

export interface Boot {
  signatureId: string;
  token: string;
  wsUrl: string;
  locale: string | null;
  audio: boolean;
  iframe: boolean;
  /** The account keeps session videos: record and upload one. */
  video: boolean;
  tryCount: number;
  /** Tries already used when the page loaded (a reload mid-session). */
  triesUsed: number;
  expiresAt: number;
  serverTime: number;
  ui: Record<string, unknown> | null;
  secondary: boolean;
  crossDeviceAllowed: boolean;
  parentOrigin: string | null;
  statusUrl: string | null;
  crossDeviceUrl: string | null;
}

/** Reads and checks the boot JSON; null when the page was opened without one. */
export function parseBoot(json: string | null | undefined): Boot | null {
  if (!json) return null;
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || typeof v.wsUrl !== 'string') return null;
  const str = (x: unknown): string | null => (typeof x === 'string' && x !== '' ? x : null);
  const num = (x: unknown, d: number): number => (typeof x === 'number' && Number.isFinite(x) ? x : d);
  return {
    signatureId: str(v.signatureId) ?? '',
    token: str(v.token) ?? '',
    wsUrl: v.wsUrl,
    locale: str(v.locale),
    audio: v.audio === true,
    iframe: v.iframe === true,
    video: v.video === true,
    tryCount: num(v.tryCount, 1),
    triesUsed: num(v.triesUsed, 0),
    expiresAt: num(v.expiresAt, 0),
    serverTime: num(v.serverTime, Date.now()),
    ui: typeof v.ui === 'object' && v.ui !== null && !Array.isArray(v.ui) ? (v.ui as Record<string, unknown>) : null,
    secondary: v.secondary === true,
    crossDeviceAllowed: v.crossDeviceAllowed === true,
    parentOrigin: str(v.parentOrigin),
    statusUrl: str(v.statusUrl),
    crossDeviceUrl: str(v.crossDeviceUrl),
  };
}

export function readBoot(): Boot | null {
  return parseBoot(document.getElementById('ol-boot')?.textContent);
}

/** The live channel's absolute URL: ws(s) on this page's host. */
export function socketUrl(wsUrl: string, loc: { protocol: string; host: string }): string {
  if (/^wss?:\/\//.test(wsUrl)) return wsUrl;
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}${wsUrl.startsWith('/') ? '' : '/'}${wsUrl}`;
}
