// The live channel's wire format (docs/protocol.md §2): the 16-byte binary header and the
// text messages. Pure functions, no I/O, so the framing is unit-tested byte by byte.

import type { Action, ClientMsg, Hint, ServerMsg, Tip } from './wire';

export const PROTOCOL_VERSION = 1;
export const HEADER_LEN = 16;

export const Kind = {
  Frame: 1,
  FarStill: 2,
  NearStill: 3,
  VideoChunk: 4,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

// The messages' types are generated from the server's (./wire.ts); these name their parts.
export type { Action, ClientMsg, ServerMsg, Target, Tip } from './wire';
type Msg<T extends ServerMsg['type']> = Extract<ServerMsg, { type: T }>;
export type SessionMsg = Msg<'session'>;
export type ChallengeMsg = Msg<'challenge'>;
export type StepMsg = Msg<'step'>;
export type GuideMsg = Msg<'guide'>;
export type SeenMsg = Msg<'seen'>;
export type ResultMsg = Msg<'result'>;
export type TryFailedMsg = Msg<'tryFailed'>;
export type LockedOutMsg = Msg<'lockedOut'>;
export type ErrorMsg = Msg<'error'>;
export type ResultHint = Hint;

/** Every value of a generated union, checked complete by the compiler. */
const all = <T extends string>(set: Record<T, true>): readonly T[] => Object.keys(set) as T[];
export const ACTIONS = all<Action>({ look: true, blink: true, open_mouth: true, turn_left: true, turn_right: true, nod: true, move_closer: true });
export const TIPS = all<Tip>({
  missing: true,
  multiple: true,
  tooDark: true,
  notCentered: true,
  moveLeft: true,
  moveRight: true,
  moveUp: true,
  moveDown: true,
  tooFar: true,
  tooNear: true,
  notFrontal: true,
  occluded: true,
  keepStill: true,
  good: true,
});

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

const text = (m: ClientMsg): string => JSON.stringify(m);
export const hello = (): string => text({ type: 'hello', protocol: PROTOCOL_VERSION });
export const positioned = (): string => text({ type: 'positioned' });
export const finish = (): string => text({ type: 'finish' });

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
