import { describe, expect, it } from 'vitest';
import { initialFlow, isLive, reduce, type Effect, type FlowEvent, type FlowMsg, type FlowState, type Phase } from '../../src/flow';

const session: FlowMsg = { type: 'session', signatureId: 's', tryNo: 2, triesAllowed: 3, expiresAt: 0, serverTime: 10_000, locale: null, audio: false, iframe: false, ui: null };
const step = (index: number, total = 3): FlowMsg => ({ type: 'step', index, total, action: index === 0 ? 'look' : 'blink', deadline: 20_000 + index, target: index === 0 ? { x: 0.5, y: 0 } : undefined });
const msg = (m: FlowMsg, now = 4_000): FlowEvent => ({ type: 'message', msg: m, now });

/** Runs `events` from the start and returns the last state and every effect, in order. */
function play(events: FlowEvent[], from: FlowState = initialFlow(3, 0)): [FlowState, Effect[]] {
  let s = from;
  const all: Effect[] = [];
  for (const e of events) {
    const [next, fx] = reduce(s, e);
    s = next;
    all.push(...fx);
  }
  return [s, all];
}

const kinds = (fx: Effect[]): string[] => fx.map((f) => f.do);

/** A state in each phase, reached through the flow's own events. */
function inPhase(phase: Phase): FlowState {
  const path: Record<Phase, FlowEvent[]> = {
    idle: [{ type: 'hello' }],
    positioning: [{ type: 'hello' }, msg(session)],
    challenge: [{ type: 'hello' }, msg(session), msg({ type: 'challenge', nonce: 'n', steps: 3 }), msg(step(0))],
    near: [{ type: 'hello' }, msg(session), msg({ type: 'challenge', nonce: 'n', steps: 3 }), { type: 'stepsOver' }],
    done: [{ type: 'hello' }, msg(session), { type: 'finish' }],
  };
  const [s] = play(path[phase]);
  expect(s.phase).toBe(phase);
  return s;
}

describe('the try flow', () => {
  it('runs a try from hello to the verdict', () => {
    const [s, fx] = play([
      { type: 'hello' },
      msg(session),
      msg({ type: 'challenge', nonce: 'n', steps: 3 }),
      msg(step(0)),
      msg(step(1)),
      msg({ type: 'seen', index: 1 }),
      msg(step(2)),
      { type: 'stepsOver' },
      { type: 'finish' },
      msg({ type: 'verifying', frames: 120 }),
      msg({ type: 'result', passed: true, score: 91, retryAllowed: false, triesLeft: 1, redirectUrl: null }),
    ]);
    expect(kinds(fx)).toEqual([
      'startStreaming',
      'showPositioning',
      'showChallenge',
      'showStep',
      'showStep',
      'showSeen',
      'showStep',
      'askNear',
      'sendStills',
      'showVerifying',
      'stopStreaming',
      'showResult',
    ]);
    expect(s.phase).toBe('done');
    expect(s.triesLeft).toBe(1);
    expect(s.totalSteps).toBe(3);
  });

  it('takes the clock and the tries left from the session message', () => {
    const [s] = play([{ type: 'hello' }, msg(session, 4_000)]);
    expect(s.offset).toBe(6_000);
    expect(s.triesLeft).toBe(2);
  });

  it('shows a step only during the challenge, and keeps the ones revealed before it', () => {
    const [s, fx] = play([msg(step(0))], inPhase('positioning'));
    expect(fx).toEqual([]);
    expect(s.steps[0]?.index).toBe(0);
  });

  it('shows "seen" for the step on screen only, never for an earlier one', () => {
    const s = inPhase('challenge');
    const [t] = play([msg(step(1))], s);
    expect(play([msg({ type: 'seen', index: 0 })], t)[1]).toEqual([]);
    expect(kinds(play([msg({ type: 'seen', index: 1 })], t)[1])).toEqual(['showSeen']);
    expect(play([msg({ type: 'seen', index: 1 })], inPhase('near'))[1]).toEqual([]);
  });

  it('uploads the stills once', () => {
    const [s, fx] = play([{ type: 'finish' }, { type: 'finish' }], inPhase('near'));
    expect(kinds(fx)).toEqual(['sendStills']);
    expect(s.phase).toBe('done');
  });

  it('says why a try ended without a verdict, with the last error the server sent', () => {
    const [, timeout] = play([msg({ type: 'tryFailed', reason: 'TIMED_OUT', retryAllowed: true, triesLeft: 1 })], inPhase('challenge'));
    expect(timeout).toEqual([{ do: 'stopStreaming' }, { do: 'showTimeout', retry: true, triesLeft: 1 }]);
    const [, broken] = play(
      [msg({ type: 'error', code: 'BAD_FRAME', message: 'frame too large' }), msg({ type: 'tryFailed', reason: 'PROTOCOL_VIOLATION', retryAllowed: false, triesLeft: 0 })],
      inPhase('challenge'),
    );
    expect(broken.at(-1)).toEqual({ do: 'showTryFailed', cause: 'protocol', lastError: 'BAD_FRAME: frame too large', retry: false, triesLeft: 0 });
    const [, gone] = play([msg({ type: 'tryFailed', reason: 'ABANDONED', retryAllowed: true, triesLeft: 2 })], inPhase('positioning'));
    expect(gone.at(-1)).toMatchObject({ do: 'showTryFailed', cause: 'abandoned', lastError: null });
  });

  it('forgets the last error when a new try starts', () => {
    const [s] = play([msg({ type: 'error', code: 'X', message: 'y' }), { type: 'hello' }], inPhase('challenge'));
    expect(s.lastError).toBeNull();
    expect(s.steps).toEqual([]);
  });

  it('turns a refusal into a screen with a retry; other errors wait for the end of the try', () => {
    for (const [code, trouble] of [
      ['SESSION_BUSY', 'sessionBusy'],
      ['SERVER_BUSY', 'serverUnavailable'],
      ['SERVER_UNAVAILABLE', 'serverUnavailable'],
    ] as const) {
      const [s, fx] = play([msg({ type: 'error', code, message: '' })], inPhase('positioning'));
      expect(s.phase).toBe('done');
      expect(fx).toEqual([{ do: 'stopStreaming' }, { do: 'showTrouble', trouble, retry: true }]);
    }
    const [s, fx] = play([msg({ type: 'error', code: 'OUT_OF_ORDER', message: 'late frame' })], inPhase('challenge'));
    expect(s.phase).toBe('challenge');
    expect(fx).toEqual([]);
  });

  it('leaves no state without a way out when the channel closes', () => {
    for (const phase of ['positioning', 'challenge', 'near'] as const) {
      expect(isLive(phase)).toBe(true);
      const [s, fx] = play([{ type: 'closed', expected: false, busy: false }], inPhase(phase));
      expect(s.phase).toBe('done');
      expect(fx).toEqual([{ do: 'stopStreaming' }, { do: 'showTrouble', trouble: 'connectionLost', retry: true }]);
    }
    // Uploading or verifying: the stills went up, the verdict did not come back.
    const [, busy] = play([{ type: 'closed', expected: false, busy: true }], inPhase('done'));
    expect(kinds(busy)).toEqual(['stopStreaming', 'showTrouble']);
    // A close the page asked for, or after a verdict was shown, changes nothing.
    expect(play([{ type: 'closed', expected: true, busy: false }], inPhase('challenge'))[1]).toEqual([]);
    expect(play([{ type: 'closed', expected: false, busy: false }], inPhase('done'))[1]).toEqual([]);
  });

  it('ends every phase on expiry and lockout', () => {
    for (const phase of ['idle', 'positioning', 'challenge', 'near', 'done'] as const) {
      const [a, fx] = play([msg({ type: 'expired' })], inPhase(phase));
      expect(a.phase).toBe('done');
      expect(kinds(fx)).toEqual(['stopStreaming', 'showExpired']);
      const [b, gx] = play([msg({ type: 'lockedOut', lockedUntil: 0, retryAfterS: 600 })], inPhase(phase));
      expect(b.phase).toBe('done');
      expect(gx.at(-1)).toEqual({ do: 'showLockedOut', retryAfterS: 600 });
    }
  });

  it('asks for the approach only after the challenge', () => {
    expect(play([{ type: 'stepsOver' }], inPhase('positioning'))[1]).toEqual([]);
    expect(play([{ type: 'stepsOver' }], inPhase('done'))[1]).toEqual([]);
    expect(play([msg({ type: 'challenge', nonce: 'n', steps: 2 })], inPhase('done'))[1]).toEqual([]);
  });
});
