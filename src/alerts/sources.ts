// The built-in alert sources: each turns what the agent already knows (check states, crash loops, scaler
// decisions, balancer views, ejection and worker-restart events, certificate files, the data dir's disk) into the
// alerts firing now. Level-triggered: what a source stops reporting resolves by itself. Each is switchable and has
// its thresholds under alerts.sources in the config.
import { X509Certificate } from "node:crypto";
import { readFileSync, statfsSync, statSync } from "node:fs";
import type { AlertsConfig } from "../config/alerts-schema.ts";
import type { AlertInput, AlertSeverity } from "../core/alerts/types.ts";
import type { AgentEvent } from "../state/event-bus.ts";

/** What changed since a source's last report: alerts it now sees firing, and inputs it reported and no longer sees. */
export interface AlertChanges {
  readonly firing: AlertInput[];
  readonly cleared: AlertInput[];
}

export interface AlertSource {
  readonly name: keyof AlertsConfig["sources"];
  enabled(cfg: AlertsConfig): boolean;
  /**
   * What the source sees now. A list is a full report (level-triggered: what it leaves out resolves). A source with
   * many alerts may return only the changes since its previous report, unless `full` asks for everything (its first
   * report, and whenever the service lost step with it).
   */
  observe(cfg: AlertsConfig, now: number, full: boolean): AlertInput[] | AlertChanges | Promise<AlertInput[] | AlertChanges>;
}

export interface SourceDeps {
  /** Every check's state; an item may be reused by the next one (read it before advancing). */
  checks(): Iterable<{ id: string; status: "passing" | "warning" | "critical" | null; since?: number | undefined; output?: string | undefined; app?: string | undefined }>;
  /** Apps the scaler left at their max while it wanted more (decision inputs). */
  scaling(): Iterable<{ app: string; current: number; max: number; wanted: number | null }>;
  balancers(): Iterable<{ name: string; panic: boolean; endpoints: number; healthy: number }>;
  /** Certificate files of TLS listeners (balancers and the admin API). */
  certificates(): Iterable<{ listener: string; file: string }>;
  dataDir(): string;
  subscribe(fn: (e: AgentEvent) => void): () => void;
}

const fmt = (ms: number) => (ms >= 86_400_000 ? `${Math.round(ms / 86_400_000)}d` : ms >= 3_600_000 ? `${Math.round(ms / 3_600_000)}h` : ms >= 60_000 ? `${Math.round(ms / 60_000)}m` : `${Math.round(ms / 1000)}s`);
const input = (name: string, severity: AlertSeverity, labels: Record<string, string>, summary: string, extra: { description?: string; value?: number } = {}): AlertInput => ({
  name,
  severity,
  labels,
  annotations: { summary, ...(extra.description ? { description: extra.description } : {}) },
  source: "",
  ...(extra.value !== undefined ? { value: extra.value } : {}),
});

/** The sources, with the event trackers some of them need (subscribed until `close`). */
export function createSources(deps: SourceDeps): { sources: AlertSource[]; close(): void } {
  const crashLoops = new Map<string, string>();
  /** Unplaceable cluster slots ("app/slot" -> reason), from the placement leader's events. */
  const unplaceable = new Map<string, { app: string; slot: string; reason: string }>();
  const ejections = new Map<string, number[]>();
  const workerRestarts = new Map<string, number[]>();
  const unsubscribe = deps.subscribe((e) => {
    if (e.type === "cluster.slot.unplaceable" || e.type === "cluster.slot.placeable") {
      const app = String(e.data?.app ?? "");
      const slot = String(e.data?.slot ?? "");
      if (e.type === "cluster.slot.unplaceable") unplaceable.set(`${app}/${slot}`, { app, slot, reason: String(e.data?.reason ?? e.message) });
      else unplaceable.delete(`${app}/${slot}`);
    } else if (e.type === "cluster.slot.removed") unplaceable.delete(`${String(e.data?.app ?? "")}/${String(e.data?.slot ?? "")}`);
    else if (e.type === "proc.crash-loop") crashLoops.set(e.target, e.message);
    else if (e.type === "proc.crash-loop-cleared") crashLoops.delete(e.target);
    else if (e.type === "balancer.ejected") {
      const b = e.target.slice(0, e.target.indexOf("/"));
      const list = ejections.get(b) ?? [];
      list.push(e.ts);
      if (list.length > 10_000) list.splice(0, list.length - 10_000);
      ejections.set(b, list);
    } else if (e.type === "worker.crashed") {
      const list = workerRestarts.get(e.target) ?? [];
      list.push(e.ts);
      if (list.length > 1000) list.shift();
      workerRestarts.set(e.target, list);
    }
  });
  const within = (m: Map<string, number[]>, windowMs: number, now: number) => {
    for (const [k, list] of m) {
      while (list.length > 0 && list[0]! <= now - windowMs) list.shift();
      if (list.length === 0) m.delete(k);
    }
    return m;
  };
  const atMaxSince = new Map<string, number>();
  /** check_critical's last report: the input per check, and the evaluation that last saw it. */
  const reported = new Map<string, { input: AlertInput; app: string | undefined; epoch: number }>();
  let checkEpoch = 0;
  const certs = new Map<string, { checkedAt: number; mtime: number; notAfter: number | null; error?: string }>();

  const sources: AlertSource[] = [
    {
      name: "check_critical",
      enabled: (c) => c.sources.check_critical.enabled,
      // Edge-triggered: thousands of checks can be critical at once, and re-reporting each one every evaluation
      // costs the engine per alert; a check is reported when it becomes (or stops being) an alert.
      observe(c, now, full) {
        const s = c.sources.check_critical;
        const epoch = ++checkEpoch;
        const firing: AlertInput[] = [];
        const cleared: AlertInput[] = [];
        let kept = 0;
        for (const k of deps.checks()) {
          const was = reported.get(k.id);
          if (k.status !== "critical" || k.since === undefined || now - k.since < s.for) {
            if (was) {
              reported.delete(k.id);
              if (!full) cleared.push(was.input);
            }
            continue;
          }
          if (was && was.app === k.app && was.input.severity === s.severity) {
            was.epoch = epoch;
            kept++;
            if (full) firing.push(was.input);
            continue;
          }
          if (was && !full) cleared.push(was.input);
          const inp = input("CheckCritical", s.severity, { check: k.id, ...(k.app ? { app: k.app } : {}) }, `check ${k.id} has been critical for ${fmt(now - k.since)}`, { ...(k.output ? { description: k.output.slice(0, 1000) } : {}), value: now - k.since });
          reported.set(k.id, { input: inp, app: k.app, epoch });
          kept++;
          firing.push(inp);
        }
        // Checks that are gone (removed from the config) are the only ones the walk did not see.
        if (kept !== reported.size) {
          for (const [id, r] of reported) {
            if (r.epoch === epoch) continue;
            reported.delete(id);
            if (!full) cleared.push(r.input);
          }
        }
        return full ? firing : { firing, cleared };
      },
    },
    {
      name: "crash_loop",
      enabled: (c) => c.sources.crash_loop.enabled,
      observe: (c) => [...crashLoops].map(([app, why]) => input("AppCrashLoop", c.sources.crash_loop.severity, { app }, `app ${app} is in crash loop`, { description: why })),
    },
    {
      name: "unplaceable",
      enabled: (c) => c.sources.unplaceable.enabled,
      observe: (c) => [...unplaceable.values()].map((u) => input("ClusterSlotUnplaceable", c.sources.unplaceable.severity, { app: u.app, slot: u.slot }, `slot ${u.app}/${u.slot} cannot be placed on any node`, { description: u.reason })),
    },
    {
      name: "max_replicas",
      enabled: (c) => c.sources.max_replicas.enabled,
      observe(c, now) {
        const s = c.sources.max_replicas;
        const out: AlertInput[] = [];
        const seen = new Set<string>();
        for (const x of deps.scaling()) {
          if (x.current < x.max || x.wanted === null || x.wanted <= x.max) continue;
          seen.add(x.app);
          const since = atMaxSince.get(x.app) ?? now;
          atMaxSince.set(x.app, since);
          if (now - since < s.for) continue;
          out.push(input("AppAtMaxReplicas", s.severity, { app: x.app }, `app ${x.app} is at its max of ${x.max} replicas while its autoscaler wants ${x.wanted}`, { value: x.wanted }));
        }
        for (const app of atMaxSince.keys()) if (!seen.has(app)) atMaxSince.delete(app);
        return out;
      },
    },
    {
      name: "balancer_unhealthy",
      enabled: (c) => c.sources.balancer_unhealthy.enabled,
      observe(c) {
        const sev = c.sources.balancer_unhealthy.severity;
        const out: AlertInput[] = [];
        for (const b of deps.balancers()) {
          if (b.endpoints > 0 && b.healthy === 0) out.push(input("BalancerNoHealthyEndpoint", sev, { balancer: b.name }, `balancer ${b.name} has no healthy endpoint (of ${b.endpoints})`, { value: 0 }));
          if (b.panic) out.push(input("BalancerPanic", sev, { balancer: b.name }, `balancer ${b.name} is in panic mode: too few healthy endpoints, it balances over all of them`, { value: b.healthy }));
        }
        return out;
      },
    },
    {
      name: "outlier_ejections",
      enabled: (c) => c.sources.outlier_ejections.enabled,
      observe(c, now) {
        const s = c.sources.outlier_ejections;
        const out: AlertInput[] = [];
        for (const [b, list] of within(ejections, s.window, now)) {
          if (list.length > s.max) out.push(input("OutlierEjections", s.severity, { balancer: b }, `balancer ${b} ejected ${list.length} endpoints in the last ${fmt(s.window)} (more than ${s.max})`, { value: list.length }));
        }
        return out;
      },
    },
    {
      name: "tls_expiry",
      enabled: (c) => c.sources.tls_expiry.enabled,
      observe(c, now) {
        const s = c.sources.tls_expiry;
        const out: AlertInput[] = [];
        for (const { listener, file } of deps.certificates()) {
          let info = certs.get(file);
          // Read once a minute, or when the file changed (renewed in place).
          if (!info || now - info.checkedAt >= 60_000) {
            try {
              const mtime = statSync(file).mtimeMs;
              if (!info || info.mtime !== mtime) info = { checkedAt: now, mtime, notAfter: Date.parse(new X509Certificate(readFileSync(file)).validTo) };
              else info.checkedAt = now;
            } catch (e) {
              info = { checkedAt: now, mtime: 0, notAfter: null, error: (e as Error).message };
            }
            certs.set(file, info);
          }
          if (info.notAfter === null) continue;
          const left = info.notAfter - now;
          if (left <= s.days * 86_400_000) {
            out.push(input("TlsCertificateExpiring", left <= 0 ? "critical" : s.severity, { listener, file }, left <= 0 ? `the TLS certificate of ${listener} expired ${fmt(-left)} ago` : `the TLS certificate of ${listener} expires in ${fmt(left)}`, { description: `${file} is valid until ${new Date(info.notAfter).toISOString()}`, value: Math.floor(left / 86_400_000) }));
          }
        }
        return out;
      },
    },
    {
      name: "worker_restarts",
      enabled: (c) => c.sources.worker_restarts.enabled,
      observe(c, now) {
        const s = c.sources.worker_restarts;
        return [...within(workerRestarts, s.window, now)].map(([w, list]) => input("WorkerRestarted", s.severity, { worker: w }, `worker thread ${w} restarted ${list.length} time(s) in the last ${fmt(s.window)}`, { value: list.length }));
      },
    },
    {
      name: "disk",
      enabled: (c) => c.sources.disk.enabled,
      observe(c) {
        const s = c.sources.disk;
        const dir = deps.dataDir();
        if (dir === ":memory:") return [];
        const st = statfsSync(dir);
        // As df computes it: blocks in use over the blocks an unprivileged writer could have.
        const used = st.blocks - st.bfree;
        const percent = used + st.bavail > 0 ? (used / (used + st.bavail)) * 100 : 0;
        if (percent <= s.percent) return [];
        return [input("DataDirDiskFull", s.severity, { path: dir }, `the disk of the data dir ${dir} is ${percent.toFixed(1)}% full (threshold ${s.percent}%)`, { value: Math.round(percent * 10) / 10 })];
      },
    },
  ];
  return { sources, close: unsubscribe };
}
