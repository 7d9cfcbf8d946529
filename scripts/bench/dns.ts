// DNS benchmark: dnsperf against Polis's DNS server and against dnsmasq serving the same records, alternated in one run.
//
// Usage: bun scripts/bench/dns.ts [--seconds 5] [--rounds 6]
// Needs dnsperf and dnsmasq on PATH (Debian: apt-get install dnsperf dnsmasq). Everything binds
// 127.0.0.1; every dnsperf run is bounded by -l; both servers are stopped on exit.
// Also measures the responder in process: cached answers vs a cache that is always stale.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { createMemoryCatalogView, type CatalogView } from "../../src/discovery/catalog-view.ts";
import { createDnsResponder } from "../../src/discovery/dns-responder.ts";
import { benchQueries, benchServices, dnsmasqRecordArgs } from "./dns-fixture.ts";
import * as dnsPacket from "dns-packet";

const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const SECONDS = opt("seconds", 5);
const ROUNDS = opt("rounds", 6);
const START_DEADLINE_MS = 5000;

interface Run {
  target: string;
  qps: number;
  lost: number;
  latencyMs: number;
  cpuUsPerQuery: number;
}

function inProcess(): void {
  const base = createMemoryCatalogView();
  for (const s of benchServices()) base.set(s.name, "default", s.endpoints);
  let v = 0;
  const stale: CatalogView = { get version() { return ++v; }, resolve: (n, ns) => base.resolve(n, ns) };
  const packets = benchQueries("polis").trim().split("\n").map((line, i) => {
    const [name, type] = line.split(" ");
    return dnsPacket.encode({ type: "query", id: i, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: type as "A" }] });
  });
  for (const [label, view] of [["cached", base], ["uncached", stale]] as const) {
    const r = createDnsResponder({ domain: "polis", ttl: 30, view });
    const n = label === "cached" ? 2_000_000 : 100_000;
    for (let i = 0; i < 10_000; i++) r.respond(packets[i % packets.length], true);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) r.respond(packets[i % packets.length], true);
    const ns = ((performance.now() - t0) * 1e6) / n;
    console.log(`in-process responder, ${label}: ${ns.toFixed(0)} ns/query (${(1e9 / ns / 1000).toFixed(0)}k queries/s on one core)`);
  }
}

function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1e6) / 100; // utime + stime in clock ticks (USER_HZ = 100)
}

async function freePort(): Promise<number> {
  const s = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  const port = s.port;
  s.close();
  return port;
}

async function answers(port: number): Promise<boolean> {
  const q = dnsPacket.encode({ type: "query", id: 1, questions: [{ name: "svc0.polis", type: "A" }] });
  const { promise, resolve } = Promise.withResolvers<boolean>();
  const sock = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port: 0,
    // Probing a port nobody listens on yet comes back as ICMP port unreachable: just "not yet".
    socket: { data: () => resolve(true), error: () => resolve(false) },
  });
  const timer = setTimeout(() => resolve(false), 200);
  sock.send(q, port, "127.0.0.1");
  const ok = await promise;
  clearTimeout(timer);
  sock.close();
  return ok;
}

async function waitAnswering(port: number, proc: Subprocess): Promise<void> {
  const deadline = Date.now() + START_DEADLINE_MS;
  while (!(await answers(port))) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`server on ${port} did not start`);
  }
}

async function dnsperf(target: string, port: number, pid: number, queryFile: string): Promise<Run> {
  const cpu0 = cpuMicros(pid);
  const proc = Bun.spawn(["dnsperf", "-s", "127.0.0.1", "-p", String(port), "-d", queryFile, "-l", String(SECONDS)], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  const cpu = cpuMicros(pid) - cpu0;
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
  const completed = num(/Queries completed:\s+(\d+)/);
  return {
    target,
    qps: num(/Queries per second:\s+([\d.]+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    latencyMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    cpuUsPerQuery: cpu / completed,
  };
}

/** The runner prints "ready <port>" once it listens (port 0: it picks one free for UDP and TCP). */
async function readyPort(proc: Subprocess<"ignore", "pipe", "inherit">): Promise<number> {
  const reader = proc.stdout.getReader();
  const timer = setTimeout(() => proc.kill(), START_DEADLINE_MS);
  let text = "";
  try {
    for (;;) {
      const m = /ready (\d+)/.exec(text);
      if (m) return Number(m[1]);
      const { value, done } = await reader.read();
      if (done) throw new Error("dns-server-runner exited before it was ready");
      text += new TextDecoder().decode(value);
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}

/** dnsmasq needs the port free for both UDP and TCP; a port picked for UDP alone may be taken for TCP. */
async function startDnsmasq(): Promise<{ masq: Subprocess; masqPort: number }> {
  const bin = Bun.which("dnsmasq", { PATH: `${process.env.PATH}:/usr/sbin` }) ?? "dnsmasq";
  for (let attempt = 0; ; attempt++) {
    const masqPort = await freePort();
    const masq = Bun.spawn(
      [
        bin, "--keep-in-foreground", `--port=${masqPort}`, "--listen-address=127.0.0.1", "--bind-interfaces",
        "--no-resolv", "--no-hosts", "--local=/polis/", "--local-ttl=30", "--pid-file=", "--user=root",
        ...dnsmasqRecordArgs("polis"),
      ],
      { stdout: "ignore", stderr: "inherit" },
    );
    try {
      await waitAnswering(masqPort, masq);
      return { masq, masqPort };
    } catch (e) {
      masq.kill();
      await masq.exited;
      if (attempt >= 2) throw e;
    }
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function main(): Promise<void> {
  inProcess();
  for (const tool of ["dnsperf", "dnsmasq"]) {
    if (!Bun.which(tool) && !Bun.which(tool, { PATH: "/usr/sbin:/usr/bin" })) {
      console.log(`skipped: ${tool} not found (apt-get install dnsperf dnsmasq)`);
      return;
    }
  }
  const dir = mkdtempSync(join(tmpdir(), "polis-dns-bench-"));
  const queryFile = join(dir, "queries.txt");
  writeFileSync(queryFile, benchQueries("polis"));
  const procs: Subprocess[] = [];
  try {
    const polis = Bun.spawn([process.execPath, join(import.meta.dir, "dns-server-runner.ts"), "0"], {
      stdout: "pipe",
      stderr: "inherit",
    });
    procs.push(polis);
    const polisPort = await readyPort(polis);
    await waitAnswering(polisPort, polis);
    const { masq, masqPort } = await startDnsmasq();
    procs.push(masq);

    const runs: Run[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? ["polis", "dnsmasq"] : ["dnsmasq", "polis"];
      for (const target of order) {
        const run = target === "polis"
          ? await dnsperf(target, polisPort, polis.pid, queryFile)
          : await dnsperf(target, masqPort, masq.pid, queryFile);
        runs.push(run);
        console.log(
          `round ${r + 1} ${target.padEnd(7)} ${run.qps.toFixed(0).padStart(7)} q/s  lost ${run.lost}  ` +
            `avg ${run.latencyMs.toFixed(3)} ms  server CPU ${run.cpuUsPerQuery.toFixed(2)} µs/query`,
        );
      }
    }
    // Each round runs both back to back, so its ratio shares the machine's load at that moment;
    // the median of per-round ratios resists other programs starting and stopping mid-run.
    const ratios = [];
    for (let r = 0; r < ROUNDS; r++) {
      const pair = runs.slice(2 * r, 2 * r + 2);
      const pq = pair.find((x) => x.target === "polis")!.qps;
      const mq = pair.find((x) => x.target === "dnsmasq")!.qps;
      ratios.push(pq / mq);
    }
    console.log(`per-round ratios polis/dnsmasq: ${ratios.map((x) => x.toFixed(2)).join(" ")}; median ${median(ratios).toFixed(2)}x`);
    const p = median(runs.filter((x) => x.target === "polis").map((x) => x.qps));
    const m = median(runs.filter((x) => x.target === "dnsmasq").map((x) => x.qps));
    console.log(`median: polis ${p.toFixed(0)} q/s, dnsmasq ${m.toFixed(0)} q/s, ratio ${(p / m).toFixed(2)}x (goal >= 1.0x)`);
    const pc = median(runs.filter((x) => x.target === "polis").map((x) => x.cpuUsPerQuery));
    const mc = median(runs.filter((x) => x.target === "dnsmasq").map((x) => x.cpuUsPerQuery));
    // Throughput swings with whatever else runs on the machine; CPU per query is the steadier comparison.
    console.log(`median server CPU per query: polis ${pc.toFixed(2)} µs, dnsmasq ${mc.toFixed(2)} µs, efficiency ratio ${(mc / pc).toFixed(2)}x`);
  } finally {
    for (const proc of procs) proc.kill();
    await Promise.all(procs.map((proc) => proc.exited));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
