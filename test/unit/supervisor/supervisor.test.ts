// The supervisor with worker hosts that run no thread: what it starts and in which order, the state each worker
// gets, how worker messages reach the catalog and the other workers, readiness, reload and stop.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import type { CommonToWorker, InitOf, WorkerLog } from "../../../src/protocol/common.ts";
import { RequestError } from "../../../src/protocol/port.ts";
import { createSupervisor, type Supervisor, type WorkerHostFactory } from "../../../src/supervisor/supervisor.ts";
import type { WorkerHostOptions, WorkerInfo, WorkerState } from "../../../src/supervisor/worker-host.ts";
import { createLogger } from "../../../src/telemetry/logger.ts";
import { VERSION } from "../../../src/version.ts";
import { waitFor } from "../../support/wait-for.ts";
import { configOf } from "./link-fakes.ts";

type Msg = { readonly t: string } & Record<string, unknown>;

/** A worker host that runs nothing: it records what the supervisor sends and lets the test speak as the worker. */
interface FakeHost {
  readonly name: string;
  /** The init state the supervisor gave at each start (the last one is what a restarted worker would get). */
  readonly inits: unknown[];
  readonly sent: Msg[];
  readonly requests: Msg[];
  /** The bound passed to each stop(). */
  readonly stops: number[];
  /** A message from the worker. */
  emit(m: Msg | WorkerLog): void;
  /** The worker dies (the host reports restarting), then comes back with a fresh copy of the state. */
  crashAndRestart(why: string): void;
}

function fakeHosts(answer: (host: string, req: Msg) => unknown = () => undefined) {
  const hosts: FakeHost[] = [];
  const started: string[] = [];
  const factory: WorkerHostFactory = <T extends { readonly t: string }, F>(opts: WorkerHostOptions<T, F>) => {
    let state: WorkerState = "stopped";
    let restarts = 0;
    const info = (): WorkerInfo => ({ name: opts.name, state, restarts, startedAt: undefined, lastError: undefined });
    const set = (s: WorkerState, why: string) => {
      state = s;
      opts.onStateChange?.(info(), why);
    };
    const fake: FakeHost = {
      name: opts.name,
      inits: [],
      sent: [],
      requests: [],
      stops: [],
      emit: (m) => opts.onMessage(m as F),
      crashAndRestart(why) {
        restarts++;
        set("restarting", why);
        set("starting", "restart");
        fake.inits.push(opts.state());
        set("running", "ready");
      },
    };
    hosts.push(fake);
    return {
      name: opts.name,
      async start() {
        started.push(opts.name);
        set("starting", "start");
        fake.inits.push(opts.state() as InitOf<T>);
        set("running", "ready");
      },
      send: (m: T | CommonToWorker) => void fake.sent.push(m as unknown as Msg),
      async request(m: Msg) {
        fake.requests.push(m);
        if (state !== "running") throw new RequestError("unavailable", `${opts.name} worker is ${state}`);
        const r = answer(opts.name, m);
        if (r === undefined) throw new RequestError("unavailable", `the fake ${opts.name} does not answer ${m.t}`);
        return r;
      },
      info,
      async stop(timeoutMs: number) {
        fake.stops.push(timeoutMs);
        set("stopped", "closed");
      },
    } as never;
  };
  const host = (name: string) => {
    const h = hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no host ${name} (have ${hosts.map((x) => x.name).join(", ")})`);
    return h;
  };
  return { factory, hosts, started, host };
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const APP = {
  name: "web",
  command: process.execPath,
  args: ["--version"],
  replicas: 2,
  port: { range: [20_100, 20_109] },
  stop: { timeout: "4s" },
  checks: [{ name: "http", kind: "http", path: "/healthz", interval: "1s", timeout: "500ms" }],
};

function rawConfig(dir: string, extra: Record<string, unknown> = {}) {
  return {
    agent: { data_dir: join(dir, "data"), balancer_workers: 2, shutdown_timeout: "3s" },
    api: { listen: "127.0.0.1:0", tokens: [{ name: "ops", token: "t0ken-for-the-supervisor-test", role: "admin" }] },
    dns: { enabled: false },
    apps: [APP],
    balancers: [{ name: "front", listen: "127.0.0.1:18181", protocol: "http", backends: { app: "web" } }],
    ...extra,
  };
}

/** A supervisor on a config file in a temp dir, with fake hosts; stopped and removed after the test. */
function supervisor(opts: { extra?: Record<string, unknown>; deferBalancers?: boolean; answer?: (host: string, req: Msg) => unknown } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "polis-sup-"));
  const configPath = join(dir, "agent.yaml");
  const raw = rawConfig(dir, opts.extra);
  writeFileSync(configPath, stringify(raw));
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ level: "debug", write: (l) => void lines.push(JSON.parse(l)) });
  const fakes = fakeHosts(opts.answer ?? ((_, req) => (req.t === "procs.snapshot" ? [] : undefined)));
  const sup = createSupervisor({ config: configOf(raw), raw, configPath, logger, env: {}, workerHost: fakes.factory, ...(opts.deferBalancers ? { deferBalancers: true } : {}) });
  cleanups.push(async () => {
    await sup.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const events = (type: string) => lines.filter((l) => l.event === type);
  return { sup, fakes, lines, events, configPath, dir, rewrite: (extra: Record<string, unknown>) => writeFileSync(configPath, stringify(rawConfig(dir, extra))) };
}

const ready = (id: number, port: number) => ({ t: "procs.event", event: { type: "ready", app: "web", id, at: Date.now(), pid: 1000 + id, port, afterMs: 12 } });

describe("supervisor", () => {
  test("start starts procs, health, every balancer and the scaler in that order, each with its full state", async () => {
    const { sup, fakes, events } = supervisor();
    await sup.start();
    expect(fakes.started).toEqual(["procs", "health", "balancer-0", "balancer-1", "scaler"]);
    const procsInit = fakes.host("procs").inits[0] as { apps: Array<{ name: string; replicas: number; stop?: { timeoutMs?: number } }> };
    expect(procsInit.apps.map((a) => [a.name, a.replicas, a.stop?.timeoutMs])).toEqual([["web", 2, 4000]]);
    // Each balancer worker knows its index; all get the same listeners.
    for (const i of [0, 1]) {
      const init = fakes.host(`balancer-${i}`).inits[0] as { index: number; balancers: Array<{ name: string; listen: string }> };
      expect(init.index).toBe(i);
      expect(init.balancers.map((b) => [b.name, b.listen])).toEqual([["front", "127.0.0.1:18181"]]);
    }
    expect((fakes.host("scaler").inits[0] as { policies: unknown[] }).policies).toBeArray();
    expect(sup.workers().map((w) => [w.name, w.state])).toEqual([
      ["procs", "running"],
      ["health", "running"],
      ["balancer-0", "running"],
      ["balancer-1", "running"],
      ["scaler", "running"],
    ]);
    expect(events("agent.started").map((e) => e.msg)).toEqual([`agent ${VERSION} started with 5 workers`]);
    // The admin API is up on the loopback address it was given.
    expect(sup.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${sup.apiUrl}/healthz`)).status).toBe(200);
  });

  test("a successor taking over starts without its balancers until the handover starts them (contrast)", async () => {
    const { sup, fakes } = supervisor({ deferBalancers: true });
    await sup.start();
    expect(fakes.started).toEqual(["procs", "health", "scaler"]);
    await sup.handover.startBalancers();
    expect(fakes.started).toEqual(["procs", "health", "scaler", "balancer-0", "balancer-1"]);
  });

  test("a replica procs reports ready becomes a catalog endpoint: every balancer gets it in its pool and health gets its check", async () => {
    const { sup, fakes } = supervisor();
    await sup.start();
    fakes.host("procs").emit(ready(0, 20_100));
    for (const b of ["balancer-0", "balancer-1"]) {
      // Pools pushed before the replica was ready were empty; the one after it holds its endpoint alone.
      const pool = await waitFor(() => fakes.host(b).sent.findLast((m) => m.t === "balancer.pool" && m.balancer === "front" && (m.members as unknown[]).length > 0), { what: `${b}'s pool` });
      expect((pool.members as Array<{ id: string; port: number }>).map((m) => [m.id, m.port])).toEqual([["web-0", 20_100]]);
    }
    const set = await waitFor(() => fakes.host("health").sent.findLast((m) => m.t === "health.set" && (m.checks as unknown[]).length > 0), { what: "health.set" });
    expect((set.checks as Array<{ id: string; target: string; options: { path: string } }>).map((c) => [c.id, c.target, c.options.path])).toEqual([["web:0:http", "http://127.0.0.1:20100", "/healthz"]]);
    // What a restarted worker gets is the state as it is now, not as it was at start.
    const init = fakes.host("balancer-1").inits[0] as { pools: Record<string, unknown[]> };
    expect(init.pools.front).toEqual([]);
    fakes.host("balancer-1").crashAndRestart("exited (code 1): boom; restarting in 100 ms");
    const again = fakes.host("balancer-1").inits[1] as { pools: Record<string, Array<{ id: string }>> };
    expect(again.pools.front!.map((m) => m.id)).toEqual(["web-0"]);
  });

  test("a worker that dies and comes back is reported as crashed, then restarted; a first start is no event (contrast)", async () => {
    const { sup, fakes, events } = supervisor();
    await sup.start();
    expect(events("worker.crashed")).toEqual([]);
    expect(events("worker.restarted")).toEqual([]);
    fakes.host("health").crashAndRestart("exited (code 7): out of luck; restarting in 100 ms");
    expect(events("worker.crashed").map((e) => [e.target, e.msg])).toEqual([["health", "worker health exited (code 7): out of luck; restarting in 100 ms"]]);
    expect(events("worker.restarted").map((e) => e.target)).toEqual(["health"]);
  });

  test("worker log lines are written with the worker's name; a message no link knows is logged as unrouted", async () => {
    const { sup, fakes, lines } = supervisor();
    await sup.start();
    fakes.host("scaler").emit({ t: "log", level: "warn", msg: "metrics are late", fields: { app: "web" } });
    expect(lines.filter((l) => l.msg === "metrics are late")).toEqual([expect.objectContaining({ level: "warn", worker: "scaler", app: "web" })]);
    fakes.host("health").emit({ t: "health.nonsense" });
    expect(lines.filter((l) => l.msg === "unrouted worker message")).toEqual([expect.objectContaining({ level: "debug", worker: "health", type: "health.nonsense" })]);
  });

  test("a balancer that cannot bind makes the agent not ready with its address; whenReady fires once it listens", async () => {
    const { sup, fakes } = supervisor();
    await sup.start();
    expect(sup.notReady()).toBeUndefined();
    fakes.host("balancer-1").emit({ t: "balancer.listen-failed", worker: 1, balancer: "front", address: "127.0.0.1:18181", code: "EADDRINUSE", message: "address in use", attempt: 1, retryInMs: 500 });
    expect(sup.notReady()).toContain("127.0.0.1:18181");
    expect(sup.notReady()).toContain("EADDRINUSE");
    const res = await fetch(`${sup.apiUrl}/readyz`);
    expect(res.status).toBe(503);
    let fired = 0;
    sup.whenReady(() => fired++);
    expect(fired).toBe(0);
    // Another worker listening does not clear this one's failure.
    fakes.host("balancer-0").emit({ t: "balancer.listening", worker: 0, balancer: "front", address: "127.0.0.1:18181" });
    expect(fired).toBe(0);
    fakes.host("balancer-1").emit({ t: "balancer.listening", worker: 1, balancer: "front", address: "127.0.0.1:18181" });
    expect(fired).toBe(1);
    expect(sup.notReady()).toBeUndefined();
    expect((await fetch(`${sup.apiUrl}/readyz`)).status).toBe(200);
    fakes.host("balancer-1").emit({ t: "balancer.listening", worker: 1, balancer: "front", address: "127.0.0.1:18181" });
    expect(fired).toBe(1);
  });

  test("a reload of a bad config file is refused with the field's path, and the workers hear nothing of it", async () => {
    const { sup, fakes, configPath } = supervisor();
    await sup.start();
    const before = sup.config;
    const sentBefore = fakes.hosts.map((h) => h.sent.length);
    writeFileSync(configPath, "apps:\n  - name: web\n    comand: x\n");
    const r = await sup.reload();
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.status).toBe(400);
    expect(r.error.problems.map((p) => p.path).join(" ")).toContain("apps[0]");
    expect(sup.config).toBe(before);
    expect(fakes.hosts.map((h) => h.sent.length)).toEqual(sentBefore);
  });

  test("a reload that changes a balancer sends every balancer worker its new init, and procs keeps its apps (contrast)", async () => {
    const { sup, fakes, rewrite } = supervisor();
    await sup.start();
    rewrite({ balancers: [{ name: "front", listen: "127.0.0.1:18181", protocol: "http", backends: { app: "web" }, algorithm: "round_robin" }] });
    const r = await sup.reload();
    expect(r).toEqual(expect.objectContaining({ ok: true, reloaded: ["balancers"] }));
    for (const b of ["balancer-0", "balancer-1"]) {
      const init = fakes.host(b).sent.findLast((m) => m.t === "init") as { state: { balancers: Array<{ algorithm: string }> } } | undefined;
      expect(init?.state.balancers.map((x) => x.algorithm)).toEqual(["round_robin"]);
    }
    expect(fakes.host("health").sent.filter((m) => m.t === "init")).toEqual([]);
  });

  test("stop stops every worker once, procs with the bound the longest app stop needs; a second stop does nothing", async () => {
    const { sup, fakes, events } = supervisor();
    await sup.start();
    const url = sup.apiUrl;
    await sup.stop();
    await sup.stop();
    // shutdown_timeout is 3 s; the app's 4 s stop timeout plus 2 s of margin bounds the procs worker.
    expect(fakes.hosts.map((h) => [h.name, h.stops])).toEqual([
      ["procs", [6000]],
      ["health", [3000]],
      ["balancer-0", [3000]],
      ["balancer-1", [3000]],
      ["scaler", [3000]],
    ]);
    expect(events("agent.stopped")).toHaveLength(1);
    expect(await fetch(`${url}/healthz`).then(() => "answered", () => "refused")).toBe("refused");
  });
});
