// Coarse millisecond clock for deadlines: read per event for free, advanced by the proxy's sweep tick.

export interface DeadlineClock {
  /** Milliseconds (monotonic) as of the last tick. */
  readonly now: number;
  /** Advance to the real time and return it. */
  tick(): number;
}

export function createDeadlineClock(source: () => number = () => performance.now()): DeadlineClock {
  const c = {
    now: source(),
    tick: function tickDeadlineClock(): number {
      c.now = source();
      return c.now;
    },
  };
  return c;
}
