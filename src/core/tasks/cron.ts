// Cron schedules: five fields (minute hour day-of-month month day-of-week) with lists, ranges, steps and names, or
// @hourly/@daily/@weekly/@monthly/@yearly; evaluated in an IANA time zone. As in Vixie cron, when both day fields
// are restricted a day matching either one fires. Six fields put seconds first, as Nomad's cron does
// (`*/10 * * * * *`: every 10 seconds). next(after) is pure: the clock is the caller's.
export interface Cron {
  readonly text: string;
  /** Seconds within a matching minute, sorted; null with five fields (second 0). */
  readonly seconds: readonly number[] | null;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly days: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly weekdays: ReadonlySet<number>;
  readonly anyDay: boolean;
  readonly anyWeekday: boolean;
  readonly timeZone: string;
}

const MACROS: Record<string, string> = { "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *" };
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

function field(text: string, what: string, min: number, max: number, names?: readonly string[], nameBase = 0): Set<number> {
  const out = new Set<number>();
  const num = (s: string) => {
    const i = names?.indexOf(s.toLowerCase()) ?? -1;
    if (i >= 0) return i + nameBase;
    if (!/^\d+$/.test(s)) throw new Error(`${what}: "${s}" is not a number${names ? " or a name" : ""}`);
    return Number(s);
  };
  for (const part of text.split(",")) {
    const [range, stepText] = part.split("/") as [string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`${what}: bad step in "${part}"`);
    let lo: number;
    let hi: number;
    if (range === "*") [lo, hi] = [min, max];
    else if (range.includes("-")) {
      const [a, b] = range.split("-") as [string, string];
      [lo, hi] = [num(a), num(b)];
    } else {
      lo = num(range);
      hi = stepText === undefined ? lo : max;
    }
    if (lo < min || hi > (what === "day of week" ? 7 : max) || lo > hi) throw new Error(`${what}: "${part}" is outside ${min}-${max}`);
    for (let v = lo; v <= hi; v += step) out.add(what === "day of week" && v === 7 ? 0 : v);
  }
  return out;
}

/** Parses a schedule; throws an Error naming the field that is wrong. */
export function parseCron(text: string, timeZone = "UTC"): Cron {
  const expanded = MACROS[text.trim().toLowerCase()] ?? text.trim();
  const all = expanded.split(/\s+/);
  if (all.length !== 5 && all.length !== 6) throw new Error(`"${text}" has ${all.length} field(s); expected 5 (minute hour day-of-month month day-of-week), 6 (second first) or @hourly/@daily/@weekly/@monthly/@yearly`);
  const seconds = all.length === 6 ? [...field(all[0]!, "second", 0, 59)].sort((a, b) => a - b) : null;
  const parts = all.length === 6 ? all.slice(1) : all;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
  } catch {
    throw new Error(`unknown time zone "${timeZone}"; expected an IANA name such as Europe/Paris or UTC`);
  }
  return {
    text,
    seconds,
    minutes: field(parts[0]!, "minute", 0, 59),
    hours: field(parts[1]!, "hour", 0, 23),
    days: field(parts[2]!, "day of month", 1, 31),
    months: field(parts[3]!, "month", 1, 12, MONTHS, 1),
    weekdays: field(parts[4]!, "day of week", 0, 6, DAYS),
    anyDay: parts[2] === "*" || parts[2]!.startsWith("*/"),
    anyWeekday: parts[4] === "*" || parts[4]!.startsWith("*/"),
    timeZone,
  };
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function localParts(t: number, tz: string) {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone: tz, hourCycle: "h23", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", weekday: "short" });
    formatters.set(tz, f);
  }
  const p: Record<string, string> = {};
  for (const x of f.formatToParts(t)) p[x.type] = x.value;
  return { month: Number(p.month), day: Number(p.day), hour: Number(p.hour), minute: Number(p.minute), weekday: DAYS.indexOf(p.weekday!.toLowerCase().slice(0, 3)) };
}

/** The first time strictly after `after` (wall ms) the schedule fires, or null within ~5 years (e.g. Feb 30). */
export function nextRun(c: Cron, after: number): number | null {
  if (c.seconds === null) return nextMinute(c, after);
  // The current minute may still have a second to come; else the first second of the next matching minute.
  const minute = Math.floor(after / 60_000) * 60_000;
  if (nextMinute(c, minute - 1) === minute) {
    for (const s of c.seconds) if (minute + s * 1000 > after) return minute + s * 1000;
  }
  const next = nextMinute(c, minute);
  return next === null ? null : next + c.seconds[0]! * 1000;
}

/** The first whole minute strictly after `after` whose fields all match. */
function nextMinute(c: Cron, after: number): number | null {
  let t = Math.floor(after / 60_000) * 60_000 + 60_000;
  const limit = after + 5 * 366 * 86_400_000;
  while (t <= limit) {
    const p = localParts(t, c.timeZone);
    const dayOk = c.anyDay && c.anyWeekday ? true : c.anyDay ? c.weekdays.has(p.weekday) : c.anyWeekday ? c.days.has(p.day) : c.days.has(p.day) || c.weekdays.has(p.weekday);
    if (!c.months.has(p.month) || !dayOk) {
      t += ((23 - p.hour) * 60 + (60 - p.minute)) * 60_000;
      continue;
    }
    if (!c.hours.has(p.hour)) {
      t += (60 - p.minute) * 60_000;
      continue;
    }
    if (!c.minutes.has(p.minute)) {
      t += 60_000;
      continue;
    }
    return t;
  }
  return null;
}
