// The live channel's wire format (docs/protocol.md §2): the 16-byte binary header and the
// text messages. Pure functions, no I/O, so the framing is unit-tested byte by byte.

export const PROTOCOL_VERSION = 1;
export const HEADER_LEN = 16;

export const Kind = {
  Frame: 1,
  FarStill: 2,
  NearStill: 3,
  VideoChunk: 4,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

export type Action = 'look' | 'blink' | 'open_mouth' | 'turn_left' | 'turn_right' | 'nod' | 'move_closer';
export const ACTIONS: readonly Action[] = [
  'look',
  'blink',
  'open_mouth',
  'turn_left',
  'turn_right',
  'nod',
  'move_closer',
];

/** Builds one binary message: header (big-endian) followed by the payload. */
export function encodeBinary(kind: Kind, seq: number, captureMs: number, payload: Uint8Array): Uint8Array {
  if (!Number.isInteger(seq) || seq < 0 || seq > 0xffffffff) {
    throw new RangeError(`sequence number out of range: ${seq}`);
  }
  if (!Number.isSafeInteger(captureMs)) {
    throw new RangeError(`capture time is not an integer: ${captureMs}`);
  }
  const out = new Uint8Array(HEADER_LEN + payload.length);
  const view = new DataView(out.buffer);
  out[0] = 0x4f; // 'O'
  out[1] = 0x4c; // 'L'
  out[2] = kind;
  out[3] = 0;
  view.setUint32(4, seq, false);
  view.setBigInt64(8, BigInt(captureMs), false);
  out.set(payload, HEADER_LEN);
  return out;
}

/** Reads a header back (used by tests and by the fake server of the unit tests). */
export function decodeHeader(bytes: Uint8Array): { kind: number; seq: number; captureMs: number } {
  if (bytes.length < HEADER_LEN || bytes[0] !== 0x4f || bytes[1] !== 0x4c) {
    throw new Error('not an OL message');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    kind: bytes[2],
    seq: view.getUint32(4, false),
    captureMs: Number(view.getBigInt64(8, false)),
  };
}

export type ClientMsg = { type: 'hello'; protocol: 1 } | { type: 'positioned' } | { type: 'finish' };

export const hello = (): string => JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION });
export const positioned = (): string => JSON.stringify({ type: 'positioned' });
export const finish = (): string => JSON.stringify({ type: 'finish' });

export interface SessionMsg {
  type: 'session';
  signatureId: string;
  tryNo: number;
  triesAllowed: number;
  expiresAt: number;
  serverTime: number;
  locale?: string | null;
  audio?: boolean;
  iframe?: boolean;
  ui?: Record<string, unknown> | null;
}
export interface ChallengeMsg {
  type: 'challenge';
  nonce: string;
  steps: number;
}
export interface StepMsg {
  type: 'step';
  index: number;
  total: number;
  action: Action;
  deadline: number;
  /** `look` steps only: where the dot is, in the user's own view — x towards their right,
   * y up, each in −1…1. */
  target?: Target;
}
export interface Target {
  x: number;
  y: number;
}
/** The tips the server's guide gives (crates/liveness/src/guide.rs). */
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
export const TIPS: readonly Tip[] = [
  'missing',
  'multiple',
  'tooDark',
  'notCentered',
  'moveLeft',
  'moveRight',
  'moveUp',
  'moveDown',
  'tooFar',
  'tooNear',
  'notFrontal',
  'occluded',
  'keepStill',
  'good',
];
/** What the server measured in one streamed frame. */
export interface GuideMsg {
  type: 'guide';
  seq: number;
  tip: Tip;
  /** Faces counted. */
  faces: number;
  /** The face's size over the frame's shorter side, 0 without a face. */
  size: number;
}
/** The open step's action was seen (and the face is back at rest where it must come back). */
export interface SeenMsg {
  type: 'seen';
  index: number;
}
export interface VerifyingMsg {
  type: 'verifying';
  frames: number;
}
export interface ResultMsg {
  type: 'result';
  passed: boolean;
  score?: number | null;
  retryAllowed: boolean;
  triesLeft: number;
  redirectUrl?: string | null;
  /** A rejected try: what its user can fix (never which check caught an attack). */
  hint?: ResultHint;
}
export interface ResultHint {
  code: 'FACE_LOST' | 'TWO_FACES' | 'FACE_HIDDEN' | 'POOR_QUALITY' | 'ACTIONS_MISSED' | string;
  actions?: string[];
}
export interface TryFailedMsg {
  type: 'tryFailed';
  reason: 'TIMED_OUT' | 'ABANDONED' | 'PROTOCOL_VIOLATION' | string;
  retryAllowed: boolean;
  triesLeft: number;
}
export interface ExpiredMsg {
  type: 'expired';
}
/** Too many failed tries for this user or browser: no try before `lockedUntil` (server ms). */
export interface LockedOutMsg {
  type: 'lockedOut';
  lockedUntil: number;
  retryAfterS: number;
}
export interface ErrorMsg {
  type: 'error';
  code: string;
  message: string;
}
export type ServerMsg =
  | SessionMsg
  | ChallengeMsg
  | GuideMsg
  | SeenMsg
  | StepMsg
  | VerifyingMsg
  | ResultMsg
  | TryFailedMsg
  | ExpiredMsg
  | LockedOutMsg
  | ErrorMsg;

/** Parses a server text message; anything unexpected is reported, never thrown. */
export function parseServer(text: string): ServerMsg | { type: 'invalid'; raw: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { type: 'invalid', raw: text };
  }
  if (typeof v !== 'object' || v === null || typeof (v as { type?: unknown }).type !== 'string') {
    return { type: 'invalid', raw: text };
  }
  const m = v as ServerMsg;
  switch (m.type) {
    case 'step':
      if (!ACTIONS.includes(m.action) || typeof m.deadline !== 'number') {
        return { type: 'invalid', raw: text };
      }
      if (m.action === 'look') {
        const t = m.target;
        if (!t || !Number.isFinite(t.x) || !Number.isFinite(t.y)) return { type: 'invalid', raw: text };
        return { ...m, target: { x: clamp1(t.x), y: clamp1(t.y) } };
      }
      return m;
    case 'guide':
      return TIPS.includes(m.tip) && Number.isInteger(m.seq) && Number.isFinite(m.size) && Number.isInteger(m.faces)
        ? m
        : { type: 'invalid', raw: text };
    case 'seen':
      return Number.isInteger(m.index) ? m : { type: 'invalid', raw: text };
    case 'session':
    case 'challenge':
    case 'verifying':
    case 'result':
    case 'tryFailed':
    case 'expired':
    case 'error':
      return m;
    case 'lockedOut':
      return typeof m.retryAfterS === 'number' && Number.isFinite(m.retryAfterS) ? m : { type: 'invalid', raw: text };
    default:
      return { type: 'invalid', raw: text };
  }
}

const clamp1 = (v: number): number => Math.max(-1, Math.min(1, v));

/** The server-minus-page clock offset, from a `serverTime` stamped when `receivedAt` (page ms). */
export function clockOffset(serverTime: number, receivedAt: number): number {
  return serverTime - receivedAt;
}

/** Whole seconds left until a deadline on the server's clock, never negative. */
export function secondsLeft(deadline: number, pageNow: number, offset: number): number {
  return Math.max(0, Math.ceil((deadline - (pageNow + offset)) / 1000));
}
