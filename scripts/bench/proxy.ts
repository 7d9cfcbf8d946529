// Proxy benchmark on real upstreams: the agent's balancer vs HAProxy 2.6 and nginx, alternated in one run, as ratios.
//
// Upstreams: two nginx processes (one worker each) serving static files of 1 KiB and 16 KiB, so the proxy's own
// cost shows (a Bun upstream costs more CPU per request than the proxies do). wrk -t2 keep-alive.
// Scenarios: HTTP 1 KiB and 16 KiB at 50 and 400 connections, TLS-terminated HTTP (every proxy with the same
// certificate), TCP; and one balancer thread against HAProxy with one thread. Proxy CPU per request is the
// proxy processes' utime+stime (/proc/PID/stat) over the run divided by the requests served. With --strace,
// `strace -c -f` is attached to Polis and HAProxy for one extra run and prints syscalls per request, and to the agent's
// balancer threads for five short TCP runs to show how the kernel split the connections between them.
//
// Usage: bun scripts/bench/proxy.ts [--duration 8] [--rounds 3] [--warmup 1] [--strace]
//          [--scenarios http-1k-c50,...]  (substrings; default all)   [--setups haproxy,nginx,polis] (substrings)
//          [--baseline PATH]  also runs the agent binary at PATH ("polis-base"), alternated, for before/after figures
//          [--json FILE]      writes every measurement as JSON
// Needs haproxy, nginx (with libnginx-mod-stream for TCP), wrk, openssl; strace for --strace. Installs the
// missing ones with apt-get. Every server listens on 127.0.0.1; everything it starts is stopped at the end.

import { spawn, type Subprocess } from "bun";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";

const args = process.argv.slice(2);
const arg = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const DURATION = Number(arg("duration", "8"));
const ROUNDS = Number(arg("rounds", "3"));
const WARMUP = Number(arg("warmup", "1"));
const STRACE = args.includes("--strace");
const BASELINE = arg("baseline", "");
const JSON_OUT = arg("json", "");
const list = (s: string) => s.split(",").filter((x) => x !== "");
const SCENARIOS = list(arg("scenarios", ""));
const SETUPS = list(arg("setups", ""));
const here = import.meta.dir;
const STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so";

const started: Subprocess[] = [];

async function ensureTools(): Promise<void> {
  const missing: string[] = [];
  for (const [cmd, pkg] of [["haproxy", "haproxy"], ["nginx", "nginx"], ["wrk", "wrk"], ["openssl", "openssl"], ...(STRACE ? [["strace", "strace"]] : [])] as const) {
    if (!Bun.which(cmd) && !existsSync(`/usr/sbin/${cmd}`)) missing.push(pkg);
  }
  if (!existsSync(STREAM_MODULE)) missing.push("libnginx-mod-stream");
  if (missing.length === 0) return;
  console.log(`installing ${missing.join(" ")} (apt-get)`);
  const p = spawn(["sh", "-c", `apt-get update -qq && apt-get install -y -qq ${missing.join(" ")}`], { stdout: "inherit", stderr: "inherit" });
  if ((await p.exited) !== 0) throw new Error(`apt-get install ${missing.join(" ")} failed`);
}

async function freePort(): Promise<number> {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = l.port;
  l.stop(true);
  return p;
}

async function waitAccepting(port: number, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const ok = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).then((s) => (s.end(), true), () => false);
    if (ok) return;
    await Bun.sleep(20);
  }
  throw new Error(`${what}: port ${port} never accepted`);
}

/** A process and its descendants (nginx masters fork their workers). */
function treePids(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const t of readdirSync(`/proc/${out[i]}/task`)) {
        const kids = readFileSync(`/proc/${out[i]}/task/${t}/children`, "utf8").trim();
        if (kids) out.push(...kids.split(/\s+/).map(Number));
      }
    } catch {
      // gone
    }
  }
  return out;
}

/** utime + stime of the processes, in clock ticks (USER_HZ = 100); a process's figure covers all its threads. */
function cpuTicks(pids: number[]): number {
  let t = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      t += Number(f[11]) + Number(f[12]);
    } catch {
      // gone: counts as zero
    }
  }
  return t;
}

// ---------------------------------------------------------------- upstreams, certificate
function makeCert(dir: string): { cert: string; key: string; pem: string } {
  const cert = join(dir, "cert.pem"), key = join(dir, "key.pem"), pem = join(dir, "combined.pem");
  const r = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "365", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`openssl: ${r.stderr.toString()}`);
  writeFileSync(pem, readFileSync(cert, "utf8") + readFileSync(key, "utf8"));
  return { cert, key, pem };
}

interface Proc { name: string; proc: Subprocess; pids: () => number[] }

function nginxPrefix(dir: string, name: string): string {
  const p = join(dir, name);
  mkdirSync(join(p, "logs"), { recursive: true });
  return p;
}

async function startNginx(dir: string, name: string, conf: string, ports: number[]): Promise<Proc> {
  const prefix = nginxPrefix(dir, name);
  const file = join(prefix, "nginx.conf");
  writeFileSync(file, `daemon off;\npid ${join(prefix, "nginx.pid")};\nerror_log ${join(prefix, "logs/error.log")} warn;\n${conf}`);
  const proc = spawn(["nginx", "-c", file, "-p", prefix, "-e", join(prefix, "logs/error.log")], { stdout: "ignore", stderr: "inherit" });
  started.push(proc);
  for (const p of ports) await waitAccepting(p, name);
  return { name, proc, pids: () => treePids(proc.pid) };
}

const TEMP_PATHS = (prefix: string) =>
  ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((k) => `  ${k}_temp_path ${join(prefix, k)};`).join("\n");

async function startUpstream(dir: string, i: number, port: number, www: string): Promise<Proc> {
  const prefix = join(dir, `up${i}`);
  return startNginx(dir, `up${i}`, `worker_processes 1;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  sendfile on;
  open_file_cache max=16;
  open_file_cache_valid 60s;
${TEMP_PATHS(prefix)}
  server { listen 127.0.0.1:${port}; root ${www}; location / { } }
}
`, [port]);
}

// ---------------------------------------------------------------- peers
interface Ports { http: number; https: number; tcp: number }

async function startHaproxy(dir: string, name: string, threads: number | undefined, ports: Ports, ups: number[], pem: string): Promise<Proc> {
  const servers = ups.map((p, i) => `  server s${i} 127.0.0.1:${p}`).join("\n");
  const cfg = `global
${threads !== undefined ? `  nbthread ${threads}\n` : ""}  maxconn 8000
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend fh
  bind 127.0.0.1:${ports.http}
${ports.https ? `  bind 127.0.0.1:${ports.https} ssl crt ${pem}\n` : ""}  option forwardfor
  default_backend bh
backend bh
  balance roundrobin
${servers}
${ports.tcp ? `frontend ft
  mode tcp
  bind 127.0.0.1:${ports.tcp}
  default_backend bt
backend bt
  mode tcp
  balance roundrobin
${servers}
` : ""}`;
  const file = join(dir, `${name}.cfg`);
  writeFileSync(file, cfg);
  const proc = spawn(["haproxy", "-db", "-f", file], { stdout: "ignore", stderr: "inherit" });
  started.push(proc);
  for (const p of [ports.http, ports.https, ports.tcp]) if (p) await waitAccepting(p, name);
  return { name, proc, pids: () => [proc.pid] };
}

async function startNginxLb(dir: string, ports: Ports, ups: number[], cert: { cert: string; key: string }): Promise<Proc> {
  const prefix = join(dir, "nginx-lb");
  const loc = `location / { proxy_pass http://u; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; }`;
  return startNginx(dir, "nginx-lb", `load_module ${STREAM_MODULE};
worker_processes auto;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
${TEMP_PATHS(prefix)}
  upstream u { ${ups.map((p) => `server 127.0.0.1:${p};`).join(" ")} keepalive 256; keepalive_requests 1000000; }
  server { listen 127.0.0.1:${ports.http}; ${loc} }
  server { listen 127.0.0.1:${ports.https} ssl; ssl_certificate ${cert.cert}; ssl_certificate_key ${cert.key}; ${loc} }
}
stream {
  upstream ut { ${ups.map((p) => `server 127.0.0.1:${p};`).join(" ")} }
  server { listen 127.0.0.1:${ports.tcp}; proxy_pass ut; }
}
`, [ports.http, ports.https, ports.tcp]);
}

/** The compiled agent with HTTP, HTTPS and TCP balancers on the static upstreams, served by `workers` balancer threads. */
async function startAgent(dir: string, name: string, binary: string, workers: number, ports: Ports, ups: number[], cert: { cert: string; key: string }): Promise<Proc> {
  if (!existsSync(binary)) throw new Error(`${binary} is missing: npm run build`);
  const cfgDir = mkdtempSync(join(dir, `${name}-`));
  const config = join(cfgDir, "agent.yaml");
  const endpoints = `backends: {endpoints: [${ups.map((u) => `{address: "127.0.0.1:${u}"}`).join(", ")}]}`;
  const common = `algorithm: round_robin, outlier: {enabled: false}, ${endpoints}`;
  writeFileSync(config, [
    `agent: {data_dir: "${join(cfgDir, "data")}", balancer_workers: ${workers}, log_level: warn}`,
    `api: {listen: "127.0.0.1:${await freePort()}"}`,
    "dns: {enabled: false}",
    "balancers:",
    `  - {name: h, listen: "127.0.0.1:${ports.http}", protocol: http, ${common}}`,
    ...(ports.https ? [`  - {name: s, listen: "127.0.0.1:${ports.https}", protocol: http, tls: {cert_file: "${cert.cert}", key_file: "${cert.key}"}, ${common}}`] : []),
    ...(ports.tcp ? [`  - {name: t, listen: "127.0.0.1:${ports.tcp}", protocol: tcp, ${common}}`] : []),
    "",
  ].join("\n"));
  const proc = spawn([binary, "agent", "--config", config], { stdout: "ignore", stderr: "inherit" });
  started.push(proc);
  for (const p of [ports.http, ports.https, ports.tcp]) if (p) await waitAccepting(p, name);
  // Every balancer thread must have its pool before measuring.
  for (let i = 0; i < 50; i++) {
    const res = await Promise.all(Array.from({ length: 8 }, () => fetch(`http://127.0.0.1:${ports.http}/1k`).then((r) => r.ok, () => false)));
    if (res.every(Boolean)) break;
    await Bun.sleep(50);
  }
  return { name, proc, pids: () => [proc.pid] };
}

/** Which code a binary is: the commit of the checkout it sits in (and whether that was modified), and when it was built. */
function describeBinary(path: string): string {
  const dir = join(path, "../..");
  const git = (...a: string[]) => Bun.spawnSync(["git", "-C", dir, ...a], { stderr: "ignore" }).stdout.toString().trim();
  const commit = git("rev-parse", "--short", "HEAD") || "unknown commit";
  const dirty = git("status", "--porcelain", "--untracked-files=no") !== "" ? " (modified)" : "";
  return `${path} from ${commit}${dirty}, built ${new Date(statSync(path).mtimeMs).toISOString().slice(0, 16)}Z`;
}

// ---------------------------------------------------------------- runs
interface Scenario { name: string; proto: "http" | "https" | "tcp"; path: string; conns: number; peers: string[] }
interface Result { round: number; scenario: string; setup: string; rps: number; p99ms: number; cpuUsPerReq: number; upCpuUsPerReq: number; errors: string; load: number }

function toMs(v: string, unit: string): number {
  const n = Number(v);
  return unit === "us" ? n / 1000 : unit === "s" ? n * 1000 : n;
}

async function wrk(url: string, conns: number, seconds: number): Promise<string> {
  const p = spawn(["wrk", `-c${conns}`, "-t2", `-d${seconds}s`, "--latency", url], { stdout: "pipe", stderr: "pipe" });
  const guard = setTimeout(() => p.kill("SIGKILL"), (seconds + 20) * 1000);
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(guard);
  return out + err;
}

async function measure(round: number, sc: Scenario, setup: string, port: number, pids: number[], upPids: number[]): Promise<Result> {
  const url = `${sc.proto === "https" ? "https" : "http"}://127.0.0.1:${port}${sc.path}`;
  if (WARMUP > 0) await wrk(url, sc.conns, WARMUP);
  const load = loadavg()[0]!;
  const t0 = cpuTicks(pids), u0 = cpuTicks(upPids);
  const out = await wrk(url, sc.conns, DURATION);
  const ticks = cpuTicks(pids) - t0, upTicks = cpuTicks(upPids) - u0;
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const m = /\s99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const errs = [/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[0], /Socket errors: .*/.exec(out)?.[0]].filter(Boolean).join("; ");
  const perReq = (t: number): number => (requests > 0 ? (t * 10_000) / requests : 0);
  const r: Result = { round, scenario: sc.name, setup, rps, p99ms: m ? toMs(m[1]!, m[2]!) : 0, cpuUsPerReq: perReq(ticks), upCpuUsPerReq: perReq(upTicks), errors: errs, load };
  console.log(`  ${sc.name.padEnd(15)} ${setup.padEnd(22)} ${rps.toFixed(0).padStart(7)} req/s  p99 ${r.p99ms.toFixed(2).padStart(7)} ms  proxy CPU ${r.cpuUsPerReq.toFixed(1).padStart(5)} µs/req  upstreams ${r.upCpuUsPerReq.toFixed(1)} µs/req  load ${load.toFixed(1)}${errs ? `  ${errs}` : ""}`);
  return r;
}

/** `strace -c -f` on every thread of the processes for one run: syscalls per request, and the top calls. */
async function straceRun(sc: Scenario, setup: string, port: number, pids: number[]): Promise<void> {
  const tids = pids.flatMap((p) => { try { return readdirSync(`/proc/${p}/task`).map(Number); } catch { return []; } });
  const st = spawn(["strace", "-c", "-f", ...tids.flatMap((t) => ["-p", String(t)])], { stdout: "ignore", stderr: "pipe" });
  started.push(st);
  await Bun.sleep(500); // attaching to every thread takes a moment; a run before it would go uncounted
  const out = await wrk(`http://127.0.0.1:${port}${sc.path}`, sc.conns, 5);
  st.kill("SIGINT");
  const guard = setTimeout(() => st.kill("SIGKILL"), 10_000);
  const summary = await new Response(st.stderr).text();
  await st.exited;
  clearTimeout(guard);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const total = /\s(\d+)\s+(\d+)?\s*total/.exec(summary);
  const calls = Number(total?.[1] ?? 0);
  const rows = summary.split("\n").filter((l) => /^\s*[\d.]+\s+[\d.]+\s+\d+\s+\d+/.test(l)).slice(0, 6)
    .map((l) => { const f = l.trim().split(/\s+/); return `${f[f.length - 1]} ${(Number(f[3]) / Math.max(1, requests)).toFixed(2)}`; });
  console.log(`  strace ${setup.padEnd(22)} ${requests} requests, ${calls} syscalls: ${(calls / Math.max(1, requests)).toFixed(2)} per request (${rows.join(", ")})`);
}

/**
 * How the kernel splits a TCP listener's connections between the agent's balancer threads (SO_REUSEPORT hashes each
 * connection's addresses to one thread's socket; HAProxy's threads share one accept queue instead): `strace -f -e
 * accept4` on the balancer threads for a few short runs of `wrk -c50`, counting the connections each thread accepted.
 */
async function splitRuns(port: number, pid: number, runs: number): Promise<void> {
  const tids = readdirSync(`/proc/${pid}/task`).filter((t) => {
    try {
      return readFileSync(`/proc/${pid}/task/${t}/comm`, "utf8").startsWith("balancer");
    } catch {
      return false;
    }
  });
  if (tids.length < 2) return;
  const splits: string[] = [];
  for (let i = 0; i < runs; i++) {
    const out = join(tmpdir(), `polis-bench-accepts-${process.pid}-${i}`);
    const st = spawn(["strace", "-f", "-e", "trace=accept4", "-o", out, ...tids.flatMap((t) => ["-p", t])], { stdout: "ignore", stderr: "ignore" });
    started.push(st);
    await Bun.sleep(500);
    await wrk(`http://127.0.0.1:${port}/1k`, 50, 1);
    st.kill("SIGINT");
    await Promise.race([st.exited, Bun.sleep(5_000)]);
    const per = new Map<string, number>();
    for (const line of readFileSync(out, "utf8").split("\n")) {
      // A call strace saw finish at once, or the resumed half of one it had to split between threads.
      const m = /^(\d+)\s+(?:accept4\(|<\.\.\. accept4 resumed>).*\)\s+=\s+\d+/.exec(line);
      if (m) per.set(m[1]!, (per.get(m[1]!) ?? 0) + 1);
    }
    rmSync(out, { force: true });
    splits.push(tids.map((t) => per.get(t) ?? 0).join("/"));
  }
  console.log(`  tcp connections accepted per balancer thread, ${runs} runs of wrk -c50: ${splits.join(", ")}`);
}

async function main(): Promise<void> {
  await ensureTools();
  const dir = mkdtempSync(join(tmpdir(), "polis-proxy-bench-"));
  const www = join(dir, "www");
  mkdirSync(www);
  // nginx workers run as an unprivileged user: the files and the path to them must be readable by it.
  chmodSync(dir, 0o755);
  chmodSync(www, 0o755);
  writeFileSync(join(www, "1k"), Buffer.alloc(1024, 97));
  writeFileSync(join(www, "16k"), Buffer.alloc(16 * 1024, 98));
  const cert = makeCert(dir);
  const upPorts = [await freePort(), await freePort()];
  const ups = [await startUpstream(dir, 0, upPorts[0]!, www), await startUpstream(dir, 1, upPorts[1]!, www)];
  const upPids = () => ups.flatMap((u) => u.pids());
  const ports = async (): Promise<Ports> => ({ http: await freePort(), https: await freePort(), tcp: await freePort() });
  const only = async (): Promise<Ports> => ({ http: await freePort(), https: 0, tcp: 0 });
  const binary = join(here, "../../dist/polis");

  // Every peer runs for the whole bench (idle ones cost nothing); each run drives one of them.
  const peers = new Map<string, { proc: Proc; ports: Ports }>();
  const add = async (name: string, p: Ports, start: (p: Ports) => Promise<Proc>) => {
    if (SETUPS.length > 0 && !SETUPS.some((x) => name.includes(x))) return;
    peers.set(name, { proc: await start(p), ports: p });
  };
  await add("haproxy", await ports(), (p) => startHaproxy(dir, "haproxy", undefined, p, upPorts, cert.pem));
  await add("haproxy nbthread 1", await only(), (p) => startHaproxy(dir, "haproxy-1", 1, p, upPorts, cert.pem));
  await add("nginx", await ports(), (p) => startNginxLb(dir, p, upPorts, cert));
  await add("polis", await ports(), (p) => startAgent(dir, "polis", binary, 2, p, upPorts, cert));
  await add("polis 1 thread", await only(), (p) => startAgent(dir, "polis-1", binary, 1, p, upPorts, cert));
  if (BASELINE) await add("polis-base", await ports(), (p) => startAgent(dir, "polis-base", BASELINE, 2, p, upPorts, cert));

  const main3 = ["haproxy", "nginx", "polis", ...(BASELINE ? ["polis-base"] : [])];
  const scenarios = ([
    { name: "http 1k c50", proto: "http", path: "/1k", conns: 50, peers: main3 },
    { name: "http 1k c400", proto: "http", path: "/1k", conns: 400, peers: main3 },
    { name: "http 16k c50", proto: "http", path: "/16k", conns: 50, peers: main3 },
    { name: "http 16k c400", proto: "http", path: "/16k", conns: 400, peers: main3 },
    { name: "https 1k c50", proto: "https", path: "/1k", conns: 50, peers: main3 },
    { name: "tcp 1k c50", proto: "tcp", path: "/1k", conns: 50, peers: main3 },
    { name: "1thread 1k c50", proto: "http", path: "/1k", conns: 50, peers: ["haproxy nbthread 1", "polis 1 thread"] },
  ] as Scenario[]).filter((s) => SCENARIOS.length === 0 || SCENARIOS.some((x) => s.name.includes(x)));
  const portOf = (sc: Scenario, p: Ports) => (sc.proto === "https" ? p.https : sc.proto === "tcp" ? p.tcp : p.http);

  console.log(`wrk -t2 -d${DURATION}s (warmup ${WARMUP}s), ${ROUNDS} rounds, upstreams: nginx on ${upPorts.join(", ")}; load ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  console.log(`measured: ${describeBinary(binary)}${BASELINE ? `; polis-base: ${describeBinary(BASELINE)}` : ""}`);
  const all: Result[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    console.log(`round ${round + 1}`);
    for (const sc of scenarios) {
      const present = sc.peers.filter((p) => peers.has(p));
      // Alternate who goes first, so no setup always runs right after the same neighbour.
      const order = present.map((_, i) => present[(i + round) % present.length]!);
      for (const name of order) {
        const peer = peers.get(name)!;
        all.push(await measure(round, sc, name, portOf(sc, peer.ports), peer.proc.pids(), upPids()));
      }
    }
  }
  if (STRACE) {
    const sc = scenarios.find((s) => s.name === "http 1k c50") ?? scenarios[0]!;
    for (const name of ["haproxy", "polis", "nginx"]) {
      const peer = peers.get(name);
      if (peer) await straceRun(sc, name, peer.ports.http, peer.proc.pids());
    }
    const agent = peers.get("polis");
    if (agent && scenarios.some((x) => x.proto === "tcp")) await splitRuns(agent.ports.tcp, agent.proc.proc.pid, 5);
  }
  if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify(all, null, 2));

  // Ratios are taken round by round against HAProxy in the same scenario (HAProxy nbthread 1 for one thread).
  const baseOf = (setup: string) => (setup.includes("1 thread") || setup.includes("nbthread 1") ? "haproxy nbthread 1" : "haproxy");
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  console.log("\n| scenario | setup | req/s | p99 ms | proxy CPU µs/req | req/s vs HAProxy (rounds) | p99 vs HAProxy (rounds) | CPU/req vs HAProxy |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const sc of scenarios) {
    for (const setup of sc.peers.filter((p) => peers.has(p))) {
      const mine = all.filter((r) => r.scenario === sc.name && r.setup === setup);
      const base = all.filter((r) => r.scenario === sc.name && r.setup === baseOf(setup));
      const ratio = (k: "rps" | "p99ms" | "cpuUsPerReq") => mine.map((r) => {
        const b = base.find((x) => x.round === r.round);
        return b && b[k] > 0 ? r[k] / b[k] : NaN;
      });
      const show = (k: "rps" | "p99ms" | "cpuUsPerReq") =>
        setup === baseOf(setup) ? "1.00×" : `${mean(ratio(k)).toFixed(2)}× (${ratio(k).map((x) => x.toFixed(2)).join(", ")})`;
      console.log(`| ${sc.name} | ${setup} | ${mean(mine.map((r) => r.rps)).toFixed(0)} | ${mean(mine.map((r) => r.p99ms)).toFixed(2)} | ${mean(mine.map((r) => r.cpuUsPerReq)).toFixed(1)} | ${show("rps")} | ${show("p99ms")} | ${show("cpuUsPerReq")} |`);
    }
  }
  console.log(`\nupstream CPU µs/req (mean over runs): ${mean(all.map((r) => r.upCpuUsPerReq)).toFixed(1)}; load at the end ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
}

try {
  await main();
} finally {
  for (const p of started) p.kill();
  await Promise.all(started.map((p) => Promise.race([p.exited, Bun.sleep(5_000)])));
}
process.exit(0);
