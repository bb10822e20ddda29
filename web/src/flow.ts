// The try's flow as a pure state machine: `reduce(state, event)` returns the next state and
// the effects to run (show a screen, start or stop streaming, upload the stills). No DOM, no
// timers, no socket: app.ts is the effect runner, and every transition is unit-tested
// (tests/unit/flow.test.ts), including that no state is left without a way out.
//
// Phases: idle (before `session`) → positioning → challenge → near (only when the challenge
// did not bring the face closer) → done. Every server message that ends a try (result,
// tryFailed, expired, lockedOut, a refusal) and an unexpected close lead to done with a
// screen that says what happened and, where the server allows it, offers another try.

import type { ResultMsg, ServerMsg, StepMsg } from './protocol';

export type Phase = 'idle' | 'positioning' | 'challenge' | 'near' | 'done';

export interface FlowState {
  readonly phase: Phase;
  /** The steps revealed so far, by index. */
  readonly steps: readonly StepMsg[];
  readonly totalSteps: number;
  /** Tries left as the server last said (shown on the failure pages). */
  readonly triesLeft: number;
  /** Server clock minus page clock, from the last `session`. */
  readonly offset: number;
  /** The last `error` the server sent in this try, shown with a failure's cause. */
  readonly lastError: string | null;
}

/** Server messages the flow handles; `guide` is per frame and stays with the capture loop. */
export type FlowMsg = Exclude<ServerMsg, { type: 'guide' }>;

export type FlowEvent =
  /** A new try starts: the page says `hello`. */
  | { type: 'hello' }
  | { type: 'message'; msg: FlowMsg; now: number }
  /** The live channel closed; `busy` when a screen was waiting on it (uploading, verifying). */
  | { type: 'closed'; expected: boolean; busy: boolean }
  /** The challenge's last window closed without the face coming closer enough: ask for it. */
  | { type: 'stepsOver' }
  /** The stills are chosen: upload them and say `finish`. */
  | { type: 'finish' };

/** Why a try ended without a verdict, for the failure page's cause line. */
export type Cause = 'abandoned' | 'protocol';
/** Refusals and losses shown on the error page. */
export type Trouble = 'connectionLost' | 'sessionBusy' | 'serverUnavailable';

export type Effect =
  | { do: 'startStreaming' }
  | { do: 'stopStreaming' }
  | { do: 'showPositioning' }
  | { do: 'showChallenge'; steps: number }
  | { do: 'showStep'; step: StepMsg }
  | { do: 'showSeen'; index: number; total: number }
  | { do: 'askNear' }
  /** Upload the stills, stop streaming, say `finish` once everything queued has left. */
  | { do: 'sendStills' }
  | { do: 'showVerifying' }
  | { do: 'showResult'; result: ResultMsg }
  | { do: 'showTimeout'; retry: boolean; triesLeft: number }
  | { do: 'showTryFailed'; cause: Cause; lastError: string | null; retry: boolean; triesLeft: number }
  | { do: 'showExpired' }
  | { do: 'showLockedOut'; retryAfterS: number }
  | { do: 'showTrouble'; trouble: Trouble; retry: boolean };

export function initialFlow(triesLeft: number, offset: number): FlowState {
  return { phase: 'idle', steps: [], totalSteps: 0, triesLeft, offset, lastError: null };
}

/** The phases in which the page streams frames and waits on the live channel. */
export function isLive(phase: Phase): boolean {
  return phase === 'positioning' || phase === 'challenge' || phase === 'near';
}

/** Refusals that end the connection without failing a try (another window holds the session,
 * the server is restarting or busy with as many checks as it can measure on time). */
const REFUSALS: Record<string, Trouble> = {
  SESSION_BUSY: 'sessionBusy',
  SERVER_UNAVAILABLE: 'serverUnavailable',
  SERVER_BUSY: 'serverUnavailable',
};

export function reduce(s: FlowState, e: FlowEvent): [FlowState, Effect[]] {
  switch (e.type) {
    case 'hello':
      return [{ ...s, phase: 'idle', steps: [], totalSteps: 0, lastError: null }, []];
    case 'closed':
      if (e.expected || !(isLive(s.phase) || e.busy)) return [s, []];
      return end(s, { do: 'showTrouble', trouble: 'connectionLost', retry: true });
    case 'stepsOver':
      return s.phase === 'challenge' ? [{ ...s, phase: 'near' }, [{ do: 'askNear' }]] : [s, []];
    case 'finish':
      // Once: the stills go up, streaming stops and `finish` follows; then only the verdict.
      return isLive(s.phase) ? [{ ...s, phase: 'done' }, [{ do: 'sendStills' }]] : [s, []];
    case 'message':
      return onMessage(s, e.msg, e.now);
  }
}

function onMessage(s: FlowState, m: FlowMsg, now: number): [FlowState, Effect[]] {
  switch (m.type) {
    case 'session':
      return [
        { ...s, phase: 'positioning', offset: m.serverTime - now, triesLeft: Math.max(0, m.triesAllowed - m.tryNo + 1) },
        [{ do: 'startStreaming' }, { do: 'showPositioning' }],
      ];
    case 'challenge':
      if (s.phase !== 'positioning') return [s, []];
      return [{ ...s, phase: 'challenge', totalSteps: m.steps }, [{ do: 'showChallenge', steps: m.steps }]];
    case 'step': {
      const steps = [...s.steps];
      steps[m.index] = m;
      const next = { ...s, steps, totalSteps: m.total };
      return [next, s.phase === 'challenge' ? [{ do: 'showStep', step: m }] : []];
    }
    case 'seen':
      // Only for the step on screen: a late `seen` never overwrites the next step.
      if (s.phase !== 'challenge' || m.index !== s.steps.length - 1) return [s, []];
      return [s, [{ do: 'showSeen', index: m.index, total: s.totalSteps }]];
    case 'verifying':
      return [s, [{ do: 'showVerifying' }]];
    case 'result':
      return end({ ...s, triesLeft: m.triesLeft }, { do: 'showResult', result: m });
    case 'tryFailed': {
      const t = { ...s, triesLeft: m.triesLeft };
      if (m.reason === 'TIMED_OUT') return end(t, { do: 'showTimeout', retry: m.retryAllowed, triesLeft: m.triesLeft });
      const cause: Cause = m.reason === 'ABANDONED' ? 'abandoned' : 'protocol';
      return end(t, { do: 'showTryFailed', cause, lastError: s.lastError, retry: m.retryAllowed, triesLeft: m.triesLeft });
    }
    case 'expired':
      return end(s, { do: 'showExpired' });
    case 'lockedOut':
      return end(s, { do: 'showLockedOut', retryAfterS: m.retryAfterS });
    case 'error': {
      const t = { ...s, lastError: `${m.code}: ${m.message}` };
      const trouble = REFUSALS[m.code];
      // Other errors are followed by the try's end (tryFailed) or a close, which show them.
      return trouble ? end(t, { do: 'showTrouble', trouble, retry: true }) : [t, []];
    }
  }
}

/** The try is over: streaming stops and `screen` says how it ended. */
function end(s: FlowState, screen: Effect): [FlowState, Effect[]] {
  return [{ ...s, phase: 'done' }, [{ do: 'stopStreaming' }, screen]];
}
