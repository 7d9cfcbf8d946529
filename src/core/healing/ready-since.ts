// When each replica's current process was first seen ready, so an outlier ejection is judged against the process it
// happened to. The connection errors of a killed process, and the refusals until its successor listens, eject the
// endpoint before the new process could answer anything (and the ejection can reach the supervisor after the new
// process spawned): only an ejection made after the current process was seen ready counts against it.

export interface ReplicaSeen {
  readonly id: number;
  readonly pid: number | null;
  readonly state: string;
}

export interface ReadySince {
  /** When this replica's current process was first seen ready; +Infinity while it is not ready. */
  of(app: string, r: ReplicaSeen): number;
  /** Forget replicas not in `live` (keys "app/id"). */
  retain(live: ReadonlySet<string>): void;
}

export function createReadySince(now: () => number): ReadySince {
  const seen = new Map<string, { pid: number; at: number }>();
  return {
    of(app, r) {
      const k = `${app}/${r.id}`;
      if (r.state !== "ready" || r.pid === null) {
        seen.delete(k);
        return Number.POSITIVE_INFINITY;
      }
      const s = seen.get(k);
      if (s?.pid === r.pid) return s.at;
      const at = now();
      seen.set(k, { pid: r.pid, at });
      return at;
    },
    retain(live) {
      for (const k of seen.keys()) if (!live.has(k)) seen.delete(k);
    },
  };
}
