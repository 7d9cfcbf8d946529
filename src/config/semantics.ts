// Rules that span fields (duplicates, ranges, cross-references). They run on every part that decoded: a section
// that failed is absent and a list entry that failed is undefined, and each rule skips what it cannot see.
import { alertRouteRules } from "./alerts.ts";
import type { ConfigProblem } from "./problems.ts";
import type { AppCheckConfig, AppConfig, BalancerConfig, Config, ServiceConfig, StandaloneCheckConfig } from "./schema.ts";
import { isPrime } from "../core/hashing/maglev.ts";
import { validateCheck } from "../core/health/check-rules.ts";
import { validatePolicy } from "../core/scaling/policy.ts";
import { appCheckSpec, standaloneCheckSpec } from "./checks.ts";
import { toScalePolicyInput } from "./scaling.ts";
import { splitListen } from "./units.ts";
import { taskAndAlertRules } from "./tasks.ts";
import { type ClusterConfig, clusterRules } from "./cluster.ts";
import { driverRules } from "./drivers.ts";
import { placementRules } from "./placement.ts";

/** The config as far as it decoded: absent sections failed, undefined list entries failed. */
export interface ConfigParts {
  readonly agent?: Config["agent"];
  readonly api?: Config["api"];
  readonly dns?: Config["dns"];
  readonly telemetry?: Config["telemetry"];
  readonly discovery?: Config["discovery"];
  readonly cluster?: ClusterConfig;
  readonly apps: ReadonlyArray<AppConfig | undefined>;
  readonly checks: ReadonlyArray<StandaloneCheckConfig | undefined>;
  readonly balancers: ReadonlyArray<BalancerConfig | undefined>;
  readonly services: ReadonlyArray<ServiceConfig | undefined>;
  readonly tasks?: Config["tasks"];
  readonly alerts?: Config["alerts"];
  readonly healing?: Config["healing"];
}

function duplicates<T>(items: ReadonlyArray<T | undefined>, key: (t: T) => string, at: (i: number) => string, what: string, out: ConfigProblem[]) {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    if (item === undefined) return;
    const k = key(item);
    const first = seen.get(k);
    if (first !== undefined) out.push({ path: at(i), message: `duplicate ${what} (also at ${at(first)})`, value: JSON.stringify(k) });
    else seen.set(k, i);
  });
}

/** The config's name of each check field the shared rules (src/core/health/check-rules.ts) speak of. */
const CONFIG_FIELD: Readonly<Record<string, string>> = {
  id: "name",
  intervalMs: "interval",
  timeoutMs: "timeout",
  unhealthyIntervalMs: "unhealthy_interval",
  "options.ttlMs": "ttl",
  "thresholds.successBeforePassing": "success_before_passing",
  "thresholds.failuresBeforeWarning": "failures_before_warning",
  "thresholds.failuresBeforeCritical": "failures_before_critical",
  "flapping.lowPercent": "flapping.low",
  "flapping.highPercent": "flapping.high",
};

/** A missing field reaches the rules as "" (the spec's empty target): nothing to show for it. */
const shown = (v: unknown) => (v === undefined || v === "" ? undefined : typeof v === "string" ? JSON.stringify(v) : String(v));

/**
 * Every rule for one check: the health worker's own rules, run on the very spec it would be sent (so a check that
 * passes here is one the worker schedules), then the config's rules on target syntax and patterns.
 * `implicitTarget`: the check is an app's, aimed at each replica.
 */
export function checkRules(c: AppCheckConfig | StandaloneCheckConfig, at: string, implicitTarget: boolean): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const spec = implicitTarget ? appCheckSpec("validate", 0, 0, c as AppCheckConfig) : standaloneCheckSpec(c as StandaloneCheckConfig);
  const targetField = c.kind === "command" ? "command" : c.kind === "file" && implicitTarget ? "path" : "target";
  const name = (f: string) => (f === "target" ? targetField : (CONFIG_FIELD[f] ?? f));
  for (const e of validateCheck(spec, name)) out.push({ path: `${at}.${e.field}`, message: e.message, ...(shown(e.value) !== undefined ? { value: shown(e.value) } : {}) });
  const target = "target" in c ? c.target : undefined;
  if (target && (c.kind === "http" || c.kind === "https") && !/^https?:\/\//.test(target)) {
    out.push({ path: `${at}.target`, message: "expected an http:// or https:// URL", value: JSON.stringify(target) });
  }
  if (target && ["tcp", "udp", "grpc"].includes(c.kind) && !/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(target)) {
    out.push({ path: `${at}.target`, message: "expected host:port", value: JSON.stringify(target) });
  }
  for (const re of ["body_match", "content_match"] as const) {
    const v = c[re];
    if (v !== undefined) {
      try {
        new RegExp(v);
      } catch (e) {
        out.push({ path: `${at}.${re}`, message: `not a valid regular expression: ${(e as Error).message}`, value: JSON.stringify(v) });
      }
    }
  }
  return out;
}

function countOf(v: number | string, cores: number): number {
  if (typeof v === "number") return v;
  if (v === "auto") return cores;
  return Math.max(1, Math.round(Number(v.slice(0, -1)) * cores));
}

/** Resolve a replica count ("auto", "2x" or a number) against the core count. */
export function resolveCount(v: number | string, cores: number): number {
  return countOf(v, cores);
}

/** Ports an app's replicas may take: its range, or its one shared port. */
function portSpan(app: AppConfig): [number, number] | undefined {
  if ("range" in app.port) return app.port.range[0] <= app.port.range[1] ? [app.port.range[0], app.port.range[1]] : undefined;
  if ("shared" in app.port) return [app.port.shared, app.port.shared];
  return undefined;
}

const spanText = (s: [number, number]) => (s[0] === s[1] ? `port ${s[0]}` : `ports ${s[0]}-${s[1]}`);

/** Two apps whose replicas could be handed one port: refused, naming both apps and the ports they share. */
function portOverlaps(apps: ConfigParts["apps"], out: ConfigProblem[]) {
  const spans: Array<{ i: number; name: string; span: [number, number] }> = [];
  apps.forEach((app, i) => {
    const span = app && portSpan(app);
    if (!app || !span) return;
    for (const other of spans) {
      const from = Math.max(span[0], other.span[0]);
      const to = Math.min(span[1], other.span[1]);
      if (from > to) continue;
      const field = "range" in app.port ? "range" : "shared";
      out.push({
        path: `apps[${i}].port.${field}`,
        message: `app "${app.name}" (${spanText(span)}) overlaps app "${other.name}" at apps[${other.i}] (${spanText(other.span)}) on ${spanText([from, to])}; give each app its own ports`,
        value: JSON.stringify(field === "range" ? span : span[0]),
      });
    }
    spans.push({ i, name: app.name, span });
  });
}

export function checkSemantics(config: ConfigParts, cores = navigator.hardwareConcurrency || 1): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  duplicates(config.apps, (a) => a.name, (i) => `apps[${i}].name`, "app name", out);
  duplicates(config.balancers, (b) => b.name, (i) => `balancers[${i}].name`, "balancer name", out);
  duplicates(config.checks, (c) => c.name, (i) => `checks[${i}].name`, "check name", out);
  duplicates(config.services, (s) => `${s.namespace}/${s.name}`, (i) => `services[${i}].name`, "service (namespace/name)", out);
  if (config.api) duplicates(config.api.tokens, (t) => t.token, (i) => `api.tokens[${i}].token`, "token", out);
  portOverlaps(config.apps, out);
  out.push(...taskAndAlertRules(config.tasks, config.alerts?.receivers));
  out.push(...alertRouteRules(config.alerts));

  const appNames = new Set(config.apps.flatMap((a) => (a ? [a.name] : [])));
  const appsComplete = config.apps.every((a) => a !== undefined);
  config.apps.forEach((app, i) => {
    if (!app) return;
    const at = `apps[${i}]`;
    if (typeof app.replicas === "object") {
      const min = countOf(app.replicas.min, cores);
      const max = countOf(app.replicas.max, cores);
      if (min > max) out.push({ path: `${at}.replicas.min`, message: `must not exceed replicas.max (${max})`, value: String(min) });
      if (max < 1) out.push({ path: `${at}.replicas.max`, message: "must be at least 1", value: String(max) });
      if (app.scaling) {
        const v = validatePolicy(toScalePolicyInput(app.scaling, min, max));
        if (!v.ok) for (const e of v.errors) out.push({ path: `${at}.scaling`, message: `${e.path}: ${e.message}` });
        if (app.scaling.metrics.some((m) => m.name === "memory") && app.scaling.memory_request === undefined && app.max_memory === undefined && app.resources?.memory === undefined) {
          out.push({ path: `${at}.scaling.memory_request`, message: "a memory target needs memory_request (or resources.memory, or max_memory) to measure utilization against" });
        }
      }
    } else if (app.scaling) {
      out.push({ path: `${at}.scaling`, message: "scaling needs replicas given as {min, max}" });
    }
    if ("range" in app.port) {
      const [from, to] = app.port.range;
      if (from < 1 || from > to) out.push({ path: `${at}.port.range`, message: "expected [from, to] with 1 <= from <= to", value: JSON.stringify(app.port.range) });
    }
    if (app.readiness.kind === "stdout" && !app.readiness.pattern) out.push({ path: `${at}.readiness.pattern`, message: "stdout readiness needs a pattern" });
    if (app.readiness.kind === "port" && "none" in app.port) out.push({ path: `${at}.readiness.kind`, message: 'port readiness needs a port allocation (port.range or port.shared); use "none" or "stdout"' });
    if (app.readiness.kind === "check" && app.checks.length === 0) out.push({ path: `${at}.readiness.kind`, message: "check readiness needs at least one check in checks" });
    out.push(...placementRules(app, at, config.cluster !== undefined));
    if (app.restart.initial_delay > app.restart.max_delay) out.push({ path: `${at}.restart.initial_delay`, message: `must not exceed restart.max_delay (${app.restart.max_delay} ms)`, value: String(app.restart.initial_delay) });
    for (const re of [app.readiness.pattern, app.watchdog?.pattern]) {
      if (re === undefined) continue;
      try {
        new RegExp(re);
      } catch (e) {
        out.push({ path: `${at}.readiness.pattern`, message: `not a valid regular expression: ${(e as Error).message}`, value: JSON.stringify(re) });
      }
    }
    out.push(...driverRules(app, at));
    duplicates(app.checks, (c) => c.name, (j) => `${at}.checks[${j}].name`, "check name", out);
    app.checks.forEach((c, j) => out.push(...checkRules(c, `${at}.checks[${j}]`, true)));
  });
  config.checks.forEach((c, i) => c && out.push(...checkRules(c, `checks[${i}]`, false)));

  const jwt = config.api?.jwt;
  if (jwt && (jwt.secret === undefined) === (jwt.public_key_file === undefined)) {
    out.push({ path: "api.jwt", message: "give exactly one of secret (HS256) or public_key_file (RS256/ES256)" });
  }

  const listens = new Map<string, string>();
  const claim = (listen: string, proto: "tcp" | "udp", at: string) => {
    const { hostname, port } = splitListen(listen);
    if (port === 0) return;
    const key = `${proto}:${hostname}:${port}`;
    const other = listens.get(key);
    if (other) out.push({ path: at, message: `address already used by ${other}`, value: JSON.stringify(listen) });
    else listens.set(key, at);
  };
  if (config.api) claim(config.api.listen, "tcp", "api.listen");
  if (config.dns?.enabled) {
    claim(config.dns.listen, "tcp", "dns.listen");
    claim(config.dns.listen, "udp", "dns.listen");
  }
  config.balancers.forEach((b, i) => {
    if (!b) return;
    const at = `balancers[${i}]`;
    claim(b.listen, b.protocol === "udp" ? "udp" : "tcp", `${at}.listen`);
    const be = b.backends;
    if (!be.app && !be.service && be.endpoints.length === 0) out.push({ path: `${at}.backends`, message: "needs an app, a service or static endpoints" });
    // An app entry that failed to decode may be the one named here: only a complete list can prove it missing.
    if (be.app && appsComplete && !appNames.has(be.app)) out.push({ path: `${at}.backends.app`, message: "no app of that name in apps", value: JSON.stringify(be.app) });
    if ((b.hash_key.source === "header" || b.hash_key.source === "cookie") && !b.hash_key.name) {
      out.push({ path: `${at}.hash_key.name`, message: `a ${b.hash_key.source} hash key needs a name` });
    }
    if (b.hash_balance_factor !== undefined && b.algorithm !== "consistent_hash" && b.algorithm !== "maglev") {
      out.push({ path: `${at}.hash_balance_factor`, message: `bounded loads apply to consistent_hash and maglev, not ${b.algorithm}`, value: String(b.hash_balance_factor) });
    }
    if (!isPrime(b.maglev.table_size)) out.push({ path: `${at}.maglev.table_size`, message: "must be a prime (e.g. 65537 or 655373)", value: String(b.maglev.table_size) });
    if (b.protocol !== "http" && (b.sticky || b.tls)) out.push({ path: `${at}.protocol`, message: "sticky sessions and tls termination need protocol http", value: JSON.stringify(b.protocol) });
    if (b.protocol !== "http" && b.upstream_protocol !== "http1") out.push({ path: `${at}.upstream_protocol`, message: "h2c and h2 upstreams need protocol http (a tcp balancer passes HTTP/2 through as bytes)", value: JSON.stringify(b.upstream_protocol) });
    if (b.upstream_protocol !== "http1" && !b.http2.enabled) out.push({ path: `${at}.upstream_protocol`, message: `upstream_protocol ${b.upstream_protocol} carries HTTP/2 streams: it needs http2.enabled`, value: JSON.stringify(b.upstream_protocol) });
    if (b.upstream_protocol === "h2c" && b.upstream_tls) out.push({ path: `${at}.upstream_tls`, message: "upstream_protocol h2c is cleartext; use h2 for HTTP/2 over TLS", value: "set" });
    if (b.outlier.base_ejection_time > b.outlier.max_ejection_time) out.push({ path: `${at}.outlier.base_ejection_time`, message: "must not exceed outlier.max_ejection_time", value: String(b.outlier.base_ejection_time) });
    if (be.backup) {
      const bk = be.backup;
      if (!bk.app && !bk.service && bk.endpoints.length === 0) out.push({ path: `${at}.backends.backup`, message: "needs an app, a service or static endpoints" });
      if (bk.app && appsComplete && !appNames.has(bk.app)) out.push({ path: `${at}.backends.backup.app`, message: "no app of that name in apps", value: JSON.stringify(bk.app) });
      if (bk.app && bk.app === be.app) out.push({ path: `${at}.backends.backup.app`, message: "the backup app is the primary app; name another app", value: JSON.stringify(bk.app) });
      const primary = new Set(be.endpoints.map((e) => e.address));
      bk.endpoints.forEach((e, j) => {
        if (primary.has(e.address)) out.push({ path: `${at}.backends.backup.endpoints[${j}].address`, message: "is also a primary endpoint", value: JSON.stringify(e.address) });
      });
    }
    if (be.scope === "cluster" && !be.app) out.push({ path: `${at}.backends.scope`, message: "scope applies to an app backend (a service backend always spans the cluster)" });
  });
  (config.healing?.exclude ?? []).forEach((name, i) => {
    if (appsComplete && !appNames.has(name)) out.push({ path: `healing.exclude[${i}]`, message: "no app of that name in apps", value: JSON.stringify(name) });
  });
  const rungs = config.healing?.rungs ?? [];
  rungs.forEach((r, i) => {
    if (rungs.findIndex((x) => x.rung === r.rung) !== i) out.push({ path: `healing.rungs[${i}].rung`, message: "each rung appears once (use attempts to try it again)", value: JSON.stringify(r.rung) });
  });
  out.push(...clusterRules(config.cluster));
  return out;
}
