// Flap detection in the Nagios manner: weighted percentage of state changes over the last N results,
// with hysteresis (start above `high`, stop below `low`), plus a damper that holds notifications while
// a check flaps and reports only the state it settles in.
//
// Weights rise linearly from 0.8 (oldest change) to 1.2 (newest), so recent changes count more. The
// percentage is always divided by the full window, so a check with a short history cannot be called
// flapping early: that is the conservative choice.
import type { Status } from "./status.ts";
import type { Transition } from "./thresholds.ts";

export interface FlapOptions {
  enabled?: boolean;
  /** Results kept (default 20). */
  window?: number;
  /** Percent of weighted changes above which a check starts flapping (default 50). */
  highPercent?: number;
  /** Percent below which a flapping check has settled (default 25). */
  lowPercent?: number;
}

export const FLAP_DEFAULTS = { enabled: true, window: 20, highPercent: 50, lowPercent: 25 } as const;

export interface FlapState {
  flapping: boolean;
  percent: number;
  /** "started" or "stopped" on the result that crossed a threshold, else null. */
  changed: "started" | "stopped" | null;
}

export interface FlapDetector {
  record(status: Status): FlapState;
  /** record() without the state object: returns only what changed (flapping/percent via the getters). */
  step(status: Status): FlapState["changed"];
  readonly flapping: boolean;
  readonly percent: number;
}

export function createFlapDetector(options: FlapOptions = {}): FlapDetector {
  const o = { ...FLAP_DEFAULTS, ...options };
  const n = Math.max(2, Math.floor(o.window));
  if (!(o.lowPercent <= o.highPercent)) throw new RangeError("lowPercent must be <= highPercent");
  // A ring of the last n results: 1 when a result differed from the one before it. `ones` counts the 1s,
  // so a steady check (the usual case) costs no weighting loop.
  const changes = new Uint8Array(n);
  let length = 0;
  let next = 0; // slot the next change goes to
  let ones = 0;
  let previous: Status | null = null;
  let flapping = false;
  let percent = 0;

  function weightedPercent(): number {
    if (ones === 0) return 0;
    let sum = 0;
    const offset = n - length; // align so the newest change always gets weight 1.2
    const first = (next - length + n) % n;
    for (let i = 0; i < length; i++) {
      if (changes[(first + i) % n] === 1) sum += 0.8 + (0.4 * (i + offset)) / (n - 1);
    }
    return (sum / n) * 100;
  }

  function step(status: Status): FlapState["changed"] {
    if (!o.enabled) return null;
    if (previous !== null) {
      const c = previous === status ? 0 : 1;
      if (length === n) ones -= changes[next];
      else length++;
      changes[next] = c;
      ones += c;
      next = (next + 1) % n;
    }
    previous = status;
    percent = weightedPercent();
    if (!flapping && percent > o.highPercent) {
      flapping = true;
      return "started";
    }
    if (flapping && percent < o.lowPercent) {
      flapping = false;
      return "stopped";
    }
    return null;
  }

  return {
    get flapping() {
      return flapping;
    },
    get percent() {
      return percent;
    },
    record: function recordFlap(status) {
      if (!o.enabled) return { flapping: false, percent: 0, changed: null };
      const changed = step(status);
      return { flapping, percent, changed };
    },
    step,
  };
}

export interface Notification extends Transition {
  /** True while the check flaps: sent once when flapping starts, with to === from (nothing else changed). */
  flapping: boolean;
  /** True when this notification ends a flapping period: `to` is the state the check settled in. */
  settled: boolean;
}

export interface FlapDamper {
  /** Feeds the raw probe status and the status the thresholds currently report; returns what to notify. */
  observe(raw: Status, reported: Status): Notification | null;
  readonly flapping: boolean;
  readonly percent: number;
  /** Status last notified downstream (null before the first). */
  readonly notified: Status | null;
}

export function createFlapDamper(options: FlapOptions = {}): FlapDamper {
  const detector = createFlapDetector(options);
  let notified: Status | null = null;
  return {
    get flapping() {
      return detector.flapping;
    },
    get percent() {
      return detector.percent;
    },
    get notified() {
      return notified;
    },
    observe: function observeDamped(raw, reported) {
      const changed = detector.step(raw);
      if (changed === "started" && notified !== null) return { from: notified, to: notified, flapping: true, settled: false };
      if (detector.flapping) return null;
      const settled = changed === "stopped";
      // A settle is always notified (it ends the flapping flag downstream), even when the state is unchanged.
      if (reported === notified && !settled) return null;
      const n: Notification = { from: notified, to: reported, flapping: false, settled };
      notified = reported;
      return n;
    },
  };
}
