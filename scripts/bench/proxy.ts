// Proxy benchmark: wrk keep-alive through Polis vs HAProxy (HTTP and TCP modes), alternated in one run, as ratios.
//
// Usage: bun scripts/bench/proxy.ts [--duration 10] [--rounds 2] [--connections 50] [--only http|tcp]
//          [--warmup 0] [--setups polis,haproxy]  (substrings of setup names; default all)
//          [--baseline DIR]  also runs "polis-base" setups from another checkout (DIR/scripts/bench/proxy/polis-proxy.ts),
//                            alternated with the others, for before/after figures from one run
// --warmup S runs an unmeasured wrk of S seconds against every setup (HAProxy too) right before its measured run.
// Installs haproxy and wrk with apt-get only when missing. Everything it starts is stopped at the end.

import { spawn, type Subprocess } from "bun";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";

const args = process.argv.slice(2);
const arg = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const DURATION = Number(arg("duration", "10"));
const ROUNDS = Number(arg("rounds", "2"));
const CONNS = Number(arg("connections", "50"));
const ONLY = arg("only", "");
const WARMUP = Number(arg("warmup", "0"));
const BASELINE = arg("baseline", "");
const SETUPS = arg("setups", "").split(",").filter((x) => x !== "");
const wanted = (name: string): boolean => SETUPS.length === 0 || SETUPS.some((x) => name.includes(x));
const here = import.meta.dir;
const bun = process.execPath;

function which(cmd: string): boolean {
  return ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"].some((d) => existsSync(join(d, cmd)));
}

async function ensureTools(): Promise<void> {
  if (which("haproxy") && which("wrk")) return;
  console.log("installing haproxy and wrk (apt-get)");
  const p = spawn(["sh", "-c", "apt-get update -qq && apt-get install -y -qq haproxy wrk"], { stdout: "inherit", stderr: "inherit" });
  if ((await p.exited) !== 0) throw new Error("apt-get install haproxy wrk failed");
}

const started: Subprocess[] = [];

interface Ready { proc: Subprocess; port: number; rest: () => Promise<string> }

async function startReady(cmd: string[]): Promise<Ready> {
  const proc = spawn(cmd, { stdout: "pipe", stderr: "inherit" });
  started.push(proc);
  const reader = proc.stdout.getReader();
  let text = "";
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const r = await Promise.race([reader.read(), Bun.sleep(10_000).then(() => ({ done: true, value: undefined }))]);
    if (r.done) break;
    text += new TextDecoder().decode(r.value);
    const m = /ready (\d+)/.exec(text);
    if (m) {
      // What the process prints after "ready", up to its exit (bounded).
      const rest = async (): Promise<string> => {
        let out = "";
        const until = Date.now() + 5_000;
        while (Date.now() < until) {
          const r = await Promise.race([reader.read(), Bun.sleep(5_000).then(() => ({ done: true, value: undefined }))]);
          if (r.done) break;
          out += new TextDecoder().decode(r.value);
        }
        return out;
      };
      return { proc, port: Number(m[1]), rest };
    }
  }
  throw new Error(`${cmd.join(" ")} did not become ready: ${text}`);
}

async function freePort(): Promise<number> {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = l.port;
  l.stop(true);
  return p;
}

async function waitAccepting(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      s.end();
      return;
    } catch {
      await Bun.sleep(20);
    }
  }
  throw new Error(`port ${port} never accepted`);
}

function cpuTicks(pids: number[]): number {
  let t = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      t += Number(f[11]) + Number(f[12]);
    } catch {
      // process gone: counts as zero
    }
  }
  return t; // clock ticks (USER_HZ = 100)
}

interface Result { name: string; rps: number; p99ms: number; cpuUsPerReq: number; upCpuUsPerReq: number; load: number }
let upstreamPids: number[] = [];

function toMs(v: string, unit: string): number {
  const n = Number(v);
  return unit === "us" ? n / 1000 : unit === "s" ? n * 1000 : n;
}

async function runWrk(name: string, port: number, pids: number[]): Promise<Result> {
  if (WARMUP > 0) {
    const w = spawn(["wrk", `-c${CONNS}`, "-t2", `-d${WARMUP}s`, `http://127.0.0.1:${port}/`], { stdout: "ignore", stderr: "ignore" });
    const wt = setTimeout(() => w.kill(), (WARMUP + 20) * 1000);
    await w.exited;
    clearTimeout(wt);
  }
  const load = loadavg()[0];
  const t0 = cpuTicks(pids);
  const u0 = cpuTicks(upstreamPids);
  const p = spawn(["wrk", `-c${CONNS}`, "-t2", `-d${DURATION}s`, "--latency", `http://127.0.0.1:${port}/`], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill(), (DURATION + 20) * 1000);
  const out = await new Response(p.stdout).text();
  await p.exited;
  clearTimeout(timer);
  const ticks = cpuTicks(pids) - t0;
  const upTicks = cpuTicks(upstreamPids) - u0;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const m = /\s99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const errs = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out);
  if (errs) console.log(`  ${name}: ${errs[0]}`);
  const total = rps * DURATION;
  const perReq = (t: number): number => (total > 0 ? (t * 10_000) / total : 0);
  const r = { name, rps, p99ms: m ? toMs(m[1], m[2]) : 0, cpuUsPerReq: perReq(ticks), upCpuUsPerReq: perReq(upTicks), load };
  console.log(`  ${name.padEnd(26)} ${rps.toFixed(0).padStart(8)} req/s  p99 ${r.p99ms.toFixed(2)} ms  proxy CPU ${r.cpuUsPerReq.toFixed(1)} µs/req  upstreams ${r.upCpuUsPerReq.toFixed(1)} µs/req  load ${load.toFixed(1)}`);
  return r;
}

function haproxyConfig(mode: "http" | "tcp", threads: number, port: number, ups: number[], dir: string): string {
  const cfg = `global
  nbthread ${threads}
  maxconn 4000
defaults
  mode ${mode}
  timeout connect 5s
  timeout client 30s
  timeout server 30s
${mode === "http" ? "  option forwardfor\n" : ""}frontend f
  bind 127.0.0.1:${port}
  default_backend b
backend b
  balance roundrobin
${ups.map((p, i) => `  server s${i} 127.0.0.1:${p}`).join("\n")}
`;
  const file = join(dir, `haproxy-${mode}-${threads}.cfg`);
  writeFileSync(file, cfg);
  return file;
}

async function withHaproxy<T>(mode: "http" | "tcp", threads: number, ups: number[], dir: string, f: (port: number, pids: number[]) => Promise<T>): Promise<T> {
  const port = await freePort();
  const proc = spawn(["haproxy", "-db", "-f", haproxyConfig(mode, threads, port, ups, dir)], { stdout: "ignore", stderr: "inherit" });
  started.push(proc);
  try {
    await waitAccepting(port);
    return await f(port, [proc.pid]);
  } finally {
    proc.kill();
    await proc.exited;
  }
}

async function withPolis<T>(mode: "http" | "tcp", procs: number, ups: number[], f: (port: number, pids: number[]) => Promise<T>, script = join(here, "proxy/polis-proxy.ts")): Promise<T> {
  const port = await freePort();
  const children: Ready[] = [];
  try {
    for (let i = 0; i < procs; i++) {
      const c = await startReady([bun, script, mode, String(port), ...ups.map(String)]);
      children.push(c);
    }
    return await f(port, children.map((c) => c.proc.pid));
  } finally {
    for (const c of children) c.proc.kill();
    // Each child prints "served <requests> <connections>" on SIGTERM: how reusePort spread the load.
    const outs = await Promise.all(children.map((c) => c.rest()));
    await Promise.all(children.map((c) => c.proc.exited));
    if (procs > 1) {
      const split = outs.map((o) => /served (\d+) (\d+)/.exec(o)).map((m) => (m ? `${m[1]} req / ${m[2]} conns` : "?"));
      console.log(`    per process: ${split.join(" | ")}`);
    }
  }
}

/** The compiled agent itself (dist/polis) with one balancer on static endpoints, served by `workers` balancer threads. */
async function withAgent<T>(mode: "http" | "tcp", workers: number, ups: number[], dir: string, f: (port: number, pids: number[]) => Promise<T>): Promise<T> {
  const port = await freePort();
  const api = await freePort();
  const cfgDir = mkdtempSync(join(dir, "agent-"));
  const config = join(cfgDir, "agent.yaml");
  writeFileSync(config, [
    `agent: {data_dir: "${join(cfgDir, "data")}", balancer_workers: ${workers}, log_level: warn}`,
    `api: {listen: "127.0.0.1:${api}"}`,
    "dns: {enabled: false}",
    "balancers:",
    `  - {name: bench, listen: "127.0.0.1:${port}", protocol: ${mode}, algorithm: round_robin, outlier: {enabled: false},`,
    `     backends: {endpoints: [${ups.map((u) => `{address: "127.0.0.1:${u}"}`).join(", ")}]}}`,
    "",
  ].join("\n"));
  const binary = join(here, "../../dist/polis");
  if (!existsSync(binary)) throw new Error("dist/polis is missing: npm run build");
  const proc = spawn([binary, "agent", "--config", config], { stdout: "ignore", stderr: "inherit" });
  started.push(proc);
  try {
    await waitAccepting(port);
    // Every balancer thread must have its pool before measuring: wait until a request succeeds.
    for (let i = 0; i < 200; i++) {
      const ok = mode === "tcp" || (await fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok, () => false));
      if (ok) break;
      await Bun.sleep(20);
    }
    return await f(port, [proc.pid]);
  } finally {
    proc.kill();
    await proc.exited;
  }
}

async function main(): Promise<void> {
  await ensureTools();
  const dir = mkdtempSync(join(tmpdir(), "polis-bench-"));
  const ups = [await startReady([bun, join(here, "proxy/upstream-server.ts")]), await startReady([bun, join(here, "proxy/upstream-server.ts")])];
  const upPorts = ups.map((u) => u.port);
  upstreamPids = ups.map((u) => u.proc.pid);
  console.log(`wrk -c${CONNS} -t2 -d${DURATION}s keep-alive; upstreams ${upPorts.join(", ")}; ${ROUNDS} round(s)`);
  const all: Result[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    console.log(`round ${r + 1}`);
    const run = async (name: string, setup: (f: (p: number, pids: number[]) => Promise<Result>) => Promise<Result>): Promise<void> => {
      if (wanted(name)) all.push(await setup((p, pids) => runWrk(name, p, pids)));
    };
    if (ONLY !== "tcp") {
      await run("http direct (1 upstream)", (f) => f(upPorts[0], []));
      await run("http haproxy nbthread 1", (f) => withHaproxy("http", 1, upPorts, dir, f));
      await run("http haproxy nbthread 2", (f) => withHaproxy("http", 2, upPorts, dir, f));
      await run("http polis 1 process", (f) => withPolis("http", 1, upPorts, f));
      await run("http polis 2 processes", (f) => withPolis("http", 2, upPorts, f));
      await run("http polis agent 2 balancer threads", (f) => withAgent("http", 2, upPorts, dir, f));
      if (BASELINE) {
        const base = join(BASELINE, "scripts/bench/proxy/polis-proxy.ts");
        await run("http polis-base 1 process", (f) => withPolis("http", 1, upPorts, f, base));
        await run("http polis-base 2 processes", (f) => withPolis("http", 2, upPorts, f, base));
      }
    }
    if (ONLY !== "http") {
      await run("tcp haproxy nbthread 2", (f) => withHaproxy("tcp", 2, upPorts, dir, f));
      await run("tcp polis 2 processes", (f) => withPolis("tcp", 2, upPorts, f));
      await run("tcp polis agent 2 balancer threads", (f) => withAgent("tcp", 2, upPorts, dir, f));
      if (BASELINE) await run("tcp polis-base 2 processes", (f) => withPolis("tcp", 2, upPorts, f, join(BASELINE, "scripts/bench/proxy/polis-proxy.ts")));
    }
  }
  const mean = (name: string): Result | undefined => {
    const rs = all.filter((x) => x.name === name);
    if (rs.length === 0) return undefined;
    const avg = (k: keyof Omit<Result, "name">) => rs.reduce((s, x) => s + x[k], 0) / rs.length;
    return { name, rps: avg("rps"), p99ms: avg("p99ms"), cpuUsPerReq: avg("cpuUsPerReq"), upCpuUsPerReq: avg("upCpuUsPerReq"), load: avg("load") };
  };
  const names = [...new Set(all.map((x) => x.name))];
  // Each Polis setup is compared with the HAProxy setup of the same mode and thread count, round by round.
  const baseOf = (n: string): string =>
    n.startsWith("tcp") ? "tcp haproxy nbthread 2" : n.includes("1 process") || n.includes("nbthread 1") ? "http haproxy nbthread 1" : "http haproxy nbthread 2";
  const ratios = (n: string, k: "rps" | "p99ms"): number[] => {
    const a = all.filter((x) => x.name === n), b = all.filter((x) => x.name === baseOf(n));
    return a.map((x, i) => (b[i] && b[i][k] > 0 ? x[k] / b[i][k] : NaN));
  };
  const median = (xs: number[]): number => {
    const v = xs.filter((x) => !Number.isNaN(x)).sort((p, q) => p - q);
    return v.length === 0 ? NaN : v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  };
  // Median of the per-round ratios: one disturbed round (p99 swings 10× on shared cores) cannot carry it.
  const perRound = (n: string, k: "rps" | "p99ms"): string =>
    `median ${median(ratios(n, k)).toFixed(2)}: ${ratios(n, k).map((r) => r.toFixed(2)).join(", ")}`;
  console.log("\n| setup | req/s (mean) | p99 ms | proxy CPU µs/req | upstreams CPU µs/req | load avg | req/s vs HAProxy (per round) | p99 vs HAProxy (per round) |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const n of names) {
    const m = mean(n)!;
    const b = n.includes("direct") ? undefined : mean(baseOf(n));
    const ratio = (k: "rps" | "p99ms"): string => (b && b[k] > 0 ? `${(m[k] / b[k]).toFixed(2)}× (${perRound(n, k)})` : "–");
    const who = b ? ` [vs ${baseOf(n).replace(/^(http|tcp) /, "")}]` : "";
    console.log(`| ${n}${who} | ${m.rps.toFixed(0)} | ${m.p99ms.toFixed(2)} | ${m.cpuUsPerReq ? m.cpuUsPerReq.toFixed(1) : "–"} | ${m.upCpuUsPerReq.toFixed(1)} | ${m.load.toFixed(1)} | ${ratio("rps")} | ${ratio("p99ms")} |`);
  }
}

try {
  await main();
} finally {
  for (const p of started) p.kill();
}
process.exit(0);
