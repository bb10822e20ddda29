import { describe, expect, it } from 'vitest';
import { dotPosition, isCentre, targetKey } from '../../src/follow';

describe('the follow part’s dot (src/follow.ts)', () => {
  it('puts the centre target in the middle of the oval', () => {
    expect(dotPosition({ x: 0, y: 0 })).toEqual({ left: 50, top: 48 });
    expect(isCentre({ x: 0, y: 0 })).toBe(true);
    expect(isCentre({ x: 0.3, y: 0 })).toBe(false);
  });

  it('draws the user’s right on the screen’s right (mirrored preview) and up as up', () => {
    const right = dotPosition({ x: 1, y: 0 });
    const up = dotPosition({ x: 0, y: 1 });
    expect(right.left).toBeGreaterThan(85);
    expect(right.top).toBe(48);
    expect(up.top).toBeLessThan(12);
    expect(dotPosition({ x: -1, y: -1 }).left).toBeLessThan(15);
    expect(dotPosition({ x: -1, y: -1 }).top).toBeGreaterThan(85);
  });

  it('places full reach at or beyond the oval’s edge but keeps the dot on the stage', () => {
    for (const [x, y] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
      const p = dotPosition({ x, y });
      // The oval (style.css .ring) spans 14–86% across and 12–84% down.
      const out = Math.max(Math.abs(p.left - 50) / 36, Math.abs(p.top - 48) / 36);
      expect(out).toBeGreaterThanOrEqual(1);
      expect(Math.min(p.left, p.top, 100 - p.left, 100 - p.top)).toBeGreaterThanOrEqual(7);
    }
  });

  it('names the target for tests as the server sent it', () => {
    expect(targetKey({ x: 0.62, y: -0.31 })).toBe('0.62,-0.31');
  });
});
