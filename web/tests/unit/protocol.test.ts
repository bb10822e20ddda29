import { describe, expect, it } from 'vitest';
import { clockOffset, decodeHeader, encodeBinary, finish, hello, Kind, parseServer, positioned, secondsLeft } from '../../src/protocol';

describe('binary framing (docs/protocol.md §2)', () => {
  it('writes the 16-byte big-endian header then the payload', () => {
    const msg = encodeBinary(Kind.Frame, 0x01020304, 1_700_000_000_123, new Uint8Array([0xff, 0xd8, 0xff]));
    expect(Array.from(msg)).toEqual([
      0x4f, 0x4c, 1, 0, 0x01, 0x02, 0x03, 0x04,
      // 1_700_000_000_123 = 0x0000_018B_CFE5_687B
      0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x7b,
      0xff, 0xd8, 0xff,
    ]);
  });

  it('uses the kind numbers of the protocol', () => {
    expect([Kind.Frame, Kind.FarStill, Kind.NearStill, Kind.VideoChunk]).toEqual([1, 2, 3, 4]);
    for (const k of [Kind.FarStill, Kind.NearStill]) expect(encodeBinary(k, 1, 2, new Uint8Array())[2]).toBe(k);
  });

  it('round-trips through the header reader', () => {
    const m = encodeBinary(Kind.NearStill, 4_294_967_295, Date.UTC(2030, 0, 1), new Uint8Array(5));
    expect(decodeHeader(m)).toEqual({ kind: 3, seq: 4_294_967_295, captureMs: Date.UTC(2030, 0, 1) });
    expect(m.length).toBe(21);
  });

  it('refuses sequence numbers and times that do not fit', () => {
    expect(() => encodeBinary(Kind.Frame, -1, 0, new Uint8Array())).toThrow(RangeError);
    expect(() => encodeBinary(Kind.Frame, 2 ** 32, 0, new Uint8Array())).toThrow(RangeError);
    expect(() => encodeBinary(Kind.Frame, 1.5, 0, new Uint8Array())).toThrow(RangeError);
    expect(() => encodeBinary(Kind.Frame, 1, 0.5, new Uint8Array())).toThrow(RangeError);
  });
});

describe('text messages', () => {
  it('sends exactly the fields the server accepts (unknown fields are an error there)', () => {
    expect(JSON.parse(hello())).toEqual({ type: 'hello', protocol: 1 });
    expect(JSON.parse(positioned())).toEqual({ type: 'positioned' });
    expect(JSON.parse(finish())).toEqual({ type: 'finish' });
  });

  it('parses server messages and rejects malformed ones', () => {
    expect(parseServer('{"type":"step","index":0,"total":3,"action":"nod","deadline":5}')).toMatchObject({ type: 'step', action: 'nod' });
    expect(parseServer('{"type":"step","index":0,"total":3,"action":"dance","deadline":5}').type).toBe('invalid');
    // A look step carries its target; out-of-range values are held to the unit square.
    expect(parseServer('{"type":"step","index":0,"total":12,"action":"look","deadline":5,"target":{"x":0.62,"y":-0.31}}')).toMatchObject({ action: 'look', target: { x: 0.62, y: -0.31 } });
    expect(parseServer('{"type":"step","index":0,"total":12,"action":"look","deadline":5,"target":{"x":1.5,"y":-3}}')).toMatchObject({ target: { x: 1, y: -1 } });
    expect(parseServer('{"type":"lockedOut","lockedUntil":1764500000000,"retryAfterS":1740}')).toMatchObject({ type: 'lockedOut', retryAfterS: 1740 });
    expect(parseServer('{"type":"lockedOut","lockedUntil":1}').type).toBe('invalid');
    expect(parseServer('{"type":"step","index":0,"total":12,"action":"look","deadline":5}').type).toBe('invalid');
    expect(parseServer('{"type":"step","index":0,"total":12,"action":"look","deadline":5,"target":{"x":"a","y":0}}').type).toBe('invalid');
    expect(parseServer('not json').type).toBe('invalid');
    expect(parseServer('[1]').type).toBe('invalid');
    expect(parseServer('{"type":"surprise"}').type).toBe('invalid');
    expect(parseServer('{"type":"result","passed":true,"retryAllowed":false,"triesLeft":0}').type).toBe('result');
  });
});

describe('clock', () => {
  it('counts down on the server clock', () => {
    const offset = clockOffset(10_000, 7_000); // server is 3 s ahead
    expect(offset).toBe(3_000);
    expect(secondsLeft(15_000, 7_000, offset)).toBe(5);
    expect(secondsLeft(15_000, 7_001, offset)).toBe(5);
    expect(secondsLeft(15_000, 11_500, offset)).toBe(1);
    expect(secondsLeft(15_000, 13_000, offset)).toBe(0);
  });
});
