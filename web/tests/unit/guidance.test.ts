import { describe, expect, it } from 'vitest';
import { FrameRing, Steadiness, TipHold, type Tip } from '../../src/guidance';
import { parseServer } from '../../src/protocol';

describe('the server guide on the wire', () => {
  it('passes a guide with a known tip and refuses anything else', () => {
    const ok = parseServer('{"type":"guide","seq":3,"tip":"moveLeft","faces":1,"size":0.42}');
    expect(ok).toEqual({ type: 'guide', seq: 3, tip: 'moveLeft', faces: 1, size: 0.42 });
    expect(parseServer('{"type":"guide","seq":3,"tip":"dance","faces":1,"size":0.4}').type).toBe('invalid');
    expect(parseServer('{"type":"guide","seq":"3","tip":"good","faces":1,"size":0.4}').type).toBe('invalid');
    expect(parseServer('{"type":"guide","seq":3,"tip":"good","faces":1}').type).toBe('invalid');
  });
  it('passes a seen step by its index', () => {
    expect(parseServer('{"type":"seen","index":7}')).toEqual({ type: 'seen', index: 7 });
    expect(parseServer('{"type":"seen","index":"7"}').type).toBe('invalid');
  });
});

describe('frame ring', () => {
  it('keeps the last few frames by number and reuses what it evicts', () => {
    const ring = new FrameRing<{ n: number }>(3);
    const made: { n: number }[] = [];
    for (let seq = 1; seq <= 5; seq++) {
      ring.push(seq, (reuse) => {
        const item = reuse ?? { n: 0 };
        item.n = seq;
        if (!reuse) made.push(item);
        return item;
      });
    }
    expect(made.length).toBe(3);
    expect(ring.get(1)).toBeNull();
    expect(ring.get(2)).toBeNull();
    expect(ring.get(3)?.n).toBe(3);
    expect(ring.get(5)?.n).toBe(5);
    ring.clear();
    expect(ring.get(5)).toBeNull();
  });
});

describe('steadiness', () => {
  it('needs the given number of good frames in a row', () => {
    const s = new Steadiness(3);
    expect(s.push('good')).toBe(false);
    expect(s.push('good')).toBe(false);
    expect(s.push('tooFar')).toBe(false);
    expect(s.progress).toBe(0);
    s.push('good');
    s.push('good');
    expect(s.push('good')).toBe(true);
    expect(s.progress).toBe(1);
  });
});

describe('tip hold', () => {
  it('keeps a tip at least 0.7 s and takes a new one once it held 0.25 s', () => {
    const hold = new TipHold(700, 250);
    expect(hold.push('tooFar', 0)).toBe('tooFar');
    // A frame that flickers to another cause does not change what is shown.
    expect(hold.push('moveLeft', 100)).toBe('tooFar');
    expect(hold.push('tooFar', 150)).toBe('tooFar');
    // The new cause holds, but the shown tip has not been up for 0.7 s yet.
    for (let t = 200; t < 700; t += 50) expect(hold.push('good', t)).toBe('tooFar');
    expect(hold.push('good', 700)).toBe('good');
    expect(hold.push('good', 750)).toBe('good');
  });

  it('shows at most one change per 0.7 s whatever the frames say', () => {
    const hold = new TipHold(700, 250);
    const tips: Tip[] = ['good', 'moveLeft', 'good', 'moveRight', 'keepStill'];
    let shown = '';
    let changes = 0;
    // Ten seconds of 22 frames a second, each frame's tip changing every few frames.
    for (let i = 0; i < 220; i++) {
      const t = (i * 1000) / 22;
      const s = hold.push(tips[Math.floor(i / 7) % tips.length], t);
      if (s !== shown) changes++;
      shown = s;
    }
    expect(changes).toBeLessThanOrEqual(Math.floor(10_000 / 700) + 1);
    expect(changes).toBeGreaterThan(3);
  });

  it('starts over after a reset', () => {
    const hold = new TipHold();
    hold.push('missing', 0);
    hold.reset();
    expect(hold.push('good', 10)).toBe('good');
  });
});
