// HTTP/2 benchmark: the agent's HTTP balancer with HTTP/2 on both sides (h2c in, h2c to the upstreams) against
// HAProxy 2.6 in h2 mode (`proto h2` on bind and servers), alternated in one run, as ratios.
//
// h2c: h2load -c10 -m10 (100 streams over 10 connections), 1 KiB responses from two nginx upstreams speaking h2c
// (prior knowledge), so the proxy's own cost shows; proxy CPU per request = the proxy process's utime+stime over
// the run / requests. gRPC: unary RPC/s of a grpc-js load client (one process, 1 channel, 64 calls in flight)
// through each proxy to two grpc-js echo servers.
//
// Usage: bun scripts/bench/h2.ts [--requests 100000] [--duration 6 (gRPC)] [--rounds 3] [--workers 2]
// Needs haproxy, nginx, h2load (Debian nghttp2-client); installs the missing ones with apt-get. Every server
// listens on 127.0.0.1; everything it starts is stopped at the end.
import { spawn, type Subprocess } from "bun";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const args = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const DURATION = Number(arg("duration", "6"));
const ROUNDS = Number(arg("rounds", "3"));
const WORKERS = Number(arg("workers", "2"));
const REQUESTS = Number(arg("requests", "100000"));
const BINARY = join(import.meta.dir, "../../dist/polis");
const started: Subprocess[] = [];

function freePort(): number {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = l.port;
  l.stop(true);
  return p;
}

async function waitAccepting(port: number, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).then((s) => (s.end(), true), () => false)) return;
    await Bun.sleep(20);
  }
  throw new Error(`${what}: port ${port} never accepted`);
}

function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

async function ensureTools(): Promise<void> {
  const missing = [["haproxy", "haproxy"], ["nginx", "nginx"], ["h2load", "nghttp2-client"]].filter(([c]) => !Bun.which(c!) && !existsSync(`/usr/sbin/${c}`)).map(([, p]) => p!);
  if (missing.length === 0) return;
  console.log(`installing ${missing.join(" ")} (apt-get)`);
  const p = spawn(["sh", "-c", `apt-get update -qq && apt-get install -y -qq ${missing.join(" ")}`], { stdout: "inherit", stderr: "inherit" });
  if ((await p.exited) !== 0) throw new Error("apt-get failed");
}

async function nginxH2c(dir: string, i: number, port: number, www: string): Promise<void> {
  const prefix = join(dir, `up${i}`);
  mkdirSync(join(prefix, "logs"), { recursive: true });
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((k) => `  ${k}_temp_path ${join(prefix, k)};`).join("\n");
  const file = join(prefix, "nginx.conf");
  writeFileSync(file, `daemon off;\npid ${join(prefix, "nginx.pid")};\nerror_log ${join(prefix, "logs/error.log")} warn;
worker_processes 1;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 10000000;
  http2_max_concurrent_streams 512;
${temp}
  server { listen 127.0.0.1:${port} http2; root ${www}; location / { } }
}
`);
  started.push(spawn(["nginx", "-c", file, "-p", prefix, "-e", join(prefix, "logs/error.log")], { stdout: "ignore", stderr: "inherit" }));
  await waitAccepting(port, `nginx ${i}`);
}

async function haproxy(dir: string, h2cPort: number, grpcPort: number, ups: number[], grpcUps: number[]): Promise<Subprocess> {
  const file = join(dir, "haproxy.cfg");
  const servers = (list: number[]) => list.map((u, i) => `  server s${i} 127.0.0.1:${u} proto h2`).join("\n");
  writeFileSync(file, `global
  maxconn 8000
defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
frontend f
  bind 127.0.0.1:${h2cPort} proto h2
  default_backend b
backend b
  balance roundrobin
${servers(ups)}
frontend g
  bind 127.0.0.1:${grpcPort} proto h2
  default_backend gb
backend gb
  balance roundrobin
${servers(grpcUps)}
`);
  const p = spawn(["haproxy", "-db", "-f", file], { stdout: "ignore", stderr: "inherit" });
  started.push(p);
  await waitAccepting(h2cPort, "haproxy");
  return p;
}

async function polis(dir: string, h2cPort: number, grpcPort: number, ups: number[], grpcUps: number[]): Promise<Subprocess> {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: npm run build`);
  const cfg = join(dir, "agent.yaml");
  const eps = (list: number[]) => `backends: {endpoints: [${list.map((u) => `{address: "127.0.0.1:${u}"}`).join(", ")}]}`;
  writeFileSync(cfg, [
    `agent: {data_dir: "${join(dir, "data")}", balancer_workers: ${WORKERS}, log_level: warn}`,
    `api: {listen: "127.0.0.1:${freePort()}"}`,
    "dns: {enabled: false}",
    "balancers:",
    `  - {name: h, listen: "127.0.0.1:${h2cPort}", protocol: http, upstream_protocol: h2c, algorithm: round_robin, outlier: {enabled: false}, ${eps(ups)}}`,
    `  - {name: g, listen: "127.0.0.1:${grpcPort}", protocol: http, upstream_protocol: h2c, algorithm: round_robin, outlier: {enabled: false}, ${eps(grpcUps)}}`,
    "",
  ].join("\n"));
  const p = spawn([BINARY, "agent", "--config", cfg], { stdout: "ignore", stderr: "inherit" });
  started.push(p);
  await waitAccepting(h2cPort, "polis");
  // Every balancer thread must have its pool before measuring.
  await Bun.sleep(1000);
  return p;
}

function h2load(port: number): { rps: number; ok: number; failed: number } {
  const r = Bun.spawnSync(["h2load", "-c10", "-m10", "-t1", `-n${REQUESTS}`, `http://127.0.0.1:${port}/1k`], { stdout: "pipe", stderr: "pipe" });
  if (process.env.H2LOAD_SHOW) console.log(r.stdout.toString());
  const out = r.stdout.toString();
  const rps = Number(/finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN);
  const m = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed/.exec(out);
  return { rps, ok: Number(m?.[1] ?? 0), failed: Number(m?.[2] ?? 0) };
}

function grpcLoad(port: number): { rps: number; failed: number } {
  const r = Bun.spawnSync([process.execPath, join(import.meta.dir, "h2-grpc-load-runner.ts"), String(port), String(DURATION)], { stdout: "pipe", stderr: "inherit" });
  return JSON.parse(r.stdout.toString().trim().split("\n").pop() ?? "{}");
}

async function main() {
  await ensureTools();
  const dir = mkdtempSync(join(tmpdir(), "polis-h2-bench-"));
  try {
    // nginx workers run as nobody when started as root: they must be able to read the files.
    chmodSync(dir, 0o755);
    const www = join(dir, "www");
    mkdirSync(www, { mode: 0o755 });
    writeFileSync(join(www, "1k"), "x".repeat(1024));
    const ups = [freePort(), freePort()];
    for (const [i, p] of ups.entries()) await nginxH2c(dir, i, p, www);
    const grpcUps: number[] = [];
    for (let i = 0; i < 2; i++) {
      const port = freePort();
      started.push(spawn([process.execPath, join(import.meta.dir, "h2-grpc-load-runner.ts"), "serve", String(port)], { stdout: "ignore", stderr: "inherit" }));
      await waitAccepting(port, "grpc echo");
      grpcUps.push(port);
    }
    const hp = { h2c: freePort(), grpc: freePort() };
    const pp = { h2c: freePort(), grpc: freePort() };
    const peers = { haproxy: await haproxy(dir, hp.h2c, hp.grpc, ups, grpcUps), polis: await polis(dir, pp.h2c, pp.grpc, ups, grpcUps) };
    const ports = { haproxy: hp, polis: pp };
    console.log(`h2c 1 KiB, h2load -c10 -m10 -n${REQUESTS}, gRPC ${DURATION}s, x ${ROUNDS} rounds alternated; polis with ${WORKERS} balancer workers, HAProxy default threads`);
    const res: Record<string, { rps: number[]; cpu: number[]; failed: number; grpc: number[]; grpcFailed: number }> = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of ["haproxy", "polis"] as const) {
        const pid = peers[name].pid;
        const t0 = cpuTicks(pid);
        const r = h2load(ports[name].h2c);
        const ticks = cpuTicks(pid) - t0;
        const g = grpcLoad(ports[name].grpc);
        const e = (res[name] ??= { rps: [], cpu: [], failed: 0, grpc: [], grpcFailed: 0 });
        e.rps.push(r.rps);
        e.cpu.push(r.ok > 0 ? (ticks * 10_000) / r.ok : NaN);
        e.failed += r.failed;
        e.grpc.push(g.rps);
        e.grpcFailed += g.failed;
        console.log(`  round ${round + 1} ${name.padEnd(8)} h2c ${r.rps.toFixed(0).padStart(7)} req/s  ${(r.ok > 0 ? (ticks * 10_000) / r.ok : NaN).toFixed(1).padStart(5)} us CPU/req  failed ${r.failed}   gRPC unary ${g.rps.toFixed(0).padStart(6)} RPC/s failed ${g.failed}`);
      }
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const h = res.haproxy!, p = res.polis!;
    console.log(`\nmedian h2c req/s: polis ${med(p.rps).toFixed(0)} vs haproxy ${med(h.rps).toFixed(0)} = ${(med(p.rps) / med(h.rps)).toFixed(2)}x; CPU/req ${med(p.cpu).toFixed(1)} us vs ${med(h.cpu).toFixed(1)} us; failed ${p.failed} vs ${h.failed}`);
    console.log(`median gRPC unary RPC/s: polis ${med(p.grpc).toFixed(0)} vs haproxy ${med(h.grpc).toFixed(0)} = ${(med(p.grpc) / med(h.grpc)).toFixed(2)}x; failed ${p.grpcFailed} vs ${h.grpcFailed}`);
  } finally {
    for (const p of started) p.kill();
    await Promise.all(started.map((p) => p.exited));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
