// User Timing marks of what the page lived through: each guide the server sent for a frame
// (with how long the frame took from capture to its tip), each tip shown, each action shown
// as seen. The browser tests read them with `performance.getEntriesByName`, and so can any
// real-user monitoring an integrator runs; the page exposes no object of its own to scripts.

export type MarkName = 'ol:guide' | 'ol:tip' | 'ol:seen';

export function mark(name: MarkName, detail: Record<string, string | number>): void {
  try {
    performance.mark(name, { detail });
  } catch {
    // A browser without User Timing level 3: nothing to record, nothing to break.
  }
}

/** Forgets the marks of an earlier try, so a long session does not keep thousands. */
export function clearMarks(): void {
  for (const name of ['ol:guide', 'ol:tip', 'ol:seen'] satisfies MarkName[]) performance.clearMarks(name);
}
