// Proxy benchmark: wrk keep-alive through Polis vs HAProxy (HTTP and TCP modes), alternated in one run, as ratios.
//
// Usage: bun scripts/bench/proxy.ts [--duration 10] [--rounds 2] [--connections 50] [--only http|tcp]
// Installs haproxy and wrk with apt-get only when missing. Everything it starts is stopped at the end.

import { spawn, type Subprocess } from "bun";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
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

async function startReady(cmd: string[]): Promise<{ proc: Subprocess; port: number }> {
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
      reader.releaseLock();
      return { proc, port: Number(m[1]) };
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

interface Result { name: string; rps: number; p99ms: number; cpuUsPerReq: number }

function toMs(v: string, unit: string): number {
  const n = Number(v);
  return unit === "us" ? n / 1000 : unit === "s" ? n * 1000 : n;
}

async function runWrk(name: string, port: number, pids: number[]): Promise<Result> {
  const t0 = cpuTicks(pids);
  const p = spawn(["wrk", `-c${CONNS}`, "-t2", `-d${DURATION}s`, "--latency", `http://127.0.0.1:${port}/`], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill(), (DURATION + 20) * 1000);
  const out = await new Response(p.stdout).text();
  await p.exited;
  clearTimeout(timer);
  const ticks = cpuTicks(pids) - t0;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const m = /\s99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const errs = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out);
  if (errs) console.log(`  ${name}: ${errs[0]}`);
  const total = rps * DURATION;
  const r = { name, rps, p99ms: m ? toMs(m[1], m[2]) : 0, cpuUsPerReq: total > 0 ? (ticks * 10_000) / total : 0 };
  console.log(`  ${name.padEnd(26)} ${rps.toFixed(0).padStart(8)} req/s  p99 ${r.p99ms.toFixed(2)} ms  proxy CPU ${r.cpuUsPerReq.toFixed(1)} µs/req`);
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

async function withPolis<T>(mode: "http" | "tcp", procs: number, ups: number[], f: (port: number, pids: number[]) => Promise<T>): Promise<T> {
  const port = await freePort();
  const children: Subprocess[] = [];
  try {
    for (let i = 0; i < procs; i++) {
      const c = await startReady([bun, join(here, "proxy/polis-proxy.ts"), mode, String(port), ...ups.map(String)]);
      children.push(c.proc);
    }
    return await f(port, children.map((c) => c.pid));
  } finally {
    for (const c of children) c.kill();
    await Promise.all(children.map((c) => c.exited));
  }
}

async function main(): Promise<void> {
  await ensureTools();
  const dir = mkdtempSync(join(tmpdir(), "polis-bench-"));
  const ups = [await startReady([bun, join(here, "proxy/upstream-server.ts")]), await startReady([bun, join(here, "proxy/upstream-server.ts")])];
  const upPorts = ups.map((u) => u.port);
  console.log(`wrk -c${CONNS} -t2 -d${DURATION}s keep-alive; upstreams ${upPorts.join(", ")}; ${ROUNDS} round(s)`);
  const all: Result[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    console.log(`round ${r + 1}`);
    if (ONLY !== "tcp") {
      all.push(await runWrk("http direct (1 upstream)", upPorts[0], []));
      all.push(await withHaproxy("http", 1, upPorts, dir, (p, pids) => runWrk("http haproxy nbthread 1", p, pids)));
      all.push(await withHaproxy("http", 2, upPorts, dir, (p, pids) => runWrk("http haproxy nbthread 2", p, pids)));
      all.push(await withPolis("http", 1, upPorts, (p, pids) => runWrk("http polis 1 process", p, pids)));
      all.push(await withPolis("http", 2, upPorts, (p, pids) => runWrk("http polis 2 processes", p, pids)));
    }
    if (ONLY !== "http") {
      all.push(await withHaproxy("tcp", 2, upPorts, dir, (p, pids) => runWrk("tcp haproxy nbthread 2", p, pids)));
      all.push(await withPolis("tcp", 2, upPorts, (p, pids) => runWrk("tcp polis 2 processes", p, pids)));
    }
  }
  const mean = (name: string): Result | undefined => {
    const rs = all.filter((x) => x.name === name);
    if (rs.length === 0) return undefined;
    const avg = (k: keyof Omit<Result, "name">) => rs.reduce((s, x) => s + x[k], 0) / rs.length;
    return { name, rps: avg("rps"), p99ms: avg("p99ms"), cpuUsPerReq: avg("cpuUsPerReq") };
  };
  const names = [...new Set(all.map((x) => x.name))];
  const ha1 = mean("http haproxy nbthread 1"), ha2 = mean("http haproxy nbthread 2"), hat = mean("tcp haproxy nbthread 2");
  console.log("\n| setup | req/s (mean) | p99 ms | proxy CPU µs/req | vs HAProxy 2 threads, same mode (per round) | vs HAProxy 1 thread |");
  console.log("|---|---|---|---|---|---|");
  const perRound = (n: string, base: string): string => {
    const a = all.filter((x) => x.name === n), b = all.filter((x) => x.name === base);
    return a.map((x, i) => (b[i] ? (x.rps / b[i].rps).toFixed(2) : "?")).join(", ");
  };
  for (const n of names) {
    const m = mean(n)!;
    const baseName = n.startsWith("tcp") ? "tcp haproxy nbthread 2" : "http haproxy nbthread 2";
    const base = n.startsWith("tcp") ? hat : ha2;
    const v2 = base ? `${(m.rps / base.rps).toFixed(2)}× (${perRound(n, baseName)})` : "–";
    const v1 = ha1 && n.startsWith("http") ? (m.rps / ha1.rps).toFixed(2) + "×" : "–";
    console.log(`| ${n} | ${m.rps.toFixed(0)} | ${m.p99ms.toFixed(2)} | ${m.cpuUsPerReq ? m.cpuUsPerReq.toFixed(1) : "–"} | ${v2} | ${v1} |`);
  }
}

try {
  await main();
} finally {
  for (const p of started) p.kill();
}
process.exit(0);
