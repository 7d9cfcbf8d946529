// Start-to-ready of the demo app (this binary's `demo-app`) by task driver, alternated in one run: a bare spawn, the
// exec driver, exec with enforced limits (cgroup + launch shim), the oci driver (crun/runc, rootfs built here from
// busybox-static and the binary's libraries), and `podman run` of the same rootfs when podman is installed.
// "Ready" is the same for all: a TCP connect to its port succeeds, polled every 2 ms from the moment of the ask.
// Also: per-replica memory the oci driver adds (the runtime process left running beside each container).
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:net";
import { ProcessManager } from "../../src/procs/process-manager.ts";
import type { AppSpec } from "../../src/procs/types.ts";
import { chooseRuntime } from "../../src/procs/drivers/oci.ts";
import { detectCgroups } from "../../src/procs/cgroups/detect.ts";
import { prepareLimits } from "../../src/procs/drivers/limits.ts";
import { buildRootfs } from "../../test/support/oci-rootfs.ts";

const RUNS = Number(process.env.RUNS ?? 10);
const DEADLINE = performance.now() + 10 * 60_000;
const BIN = join(import.meta.dir, "../../dist/polis");
if (!existsSync(BIN)) throw new Error("build first: npm run build");
const BASE_PORT = 25_000 + Math.floor(Math.random() * 400) * 10;

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => (s.destroy(), resolve(false)));
  });
}

async function untilAccepts(port: number, t0: number): Promise<number> {
  for (;;) {
    if (await accepts(port)) return performance.now() - t0;
    if (performance.now() > DEADLINE || performance.now() - t0 > 30_000) throw new Error(`port ${port} never accepted`);
    await Bun.sleep(2);
  }
}

async function untilClosed(port: number): Promise<void> {
  const end = performance.now() + 10_000;
  while ((await accepts(port)) && performance.now() < end) await Bun.sleep(5);
}

const rootfs = buildRootfs([BIN]);
const rt = chooseRuntime("auto");
const state = mkdtempSync(join(tmpdir(), "polis-bench-oci-"));

function spec(port: number, extra: Partial<AppSpec>): AppSpec {
  return { name: "bench", command: BIN, args: ["demo-app"], replicas: 1, port: { kind: "shared", port }, readiness: { kind: "none" }, stop: { timeoutMs: 3000 }, ...extra };
}

type Variant = { name: string; run(port: number): Promise<number> };

const bare: Variant = {
  name: "bare spawn",
  async run(port) {
    const t0 = performance.now();
    const p = Bun.spawn([BIN, "demo-app"], { env: { ...process.env, PORT: String(port) }, stdio: ["ignore", "ignore", "ignore"], detached: true });
    const ms = await untilAccepts(port, t0);
    p.kill("SIGKILL");
    await p.exited;
    return ms;
  },
};

function managed(name: string, extra: (port: number) => Partial<AppSpec>): Variant {
  return {
    name,
    async run(port) {
      const pm = new ProcessManager({});
      const t0 = performance.now();
      void pm.apply([spec(port, extra(port))]);
      const ms = await untilAccepts(port, t0);
      await pm.stopAll();
      return ms;
    },
  };
}

const limits = { memoryBytes: 256 << 20, cpu: 1, pids: 256, nofile: 4096 };
const { cpu: _cpu, ...noCpu } = limits;
// A CPU quota of one core also caps a start that would use more (the runtime's JIT and GC threads run in parallel):
// measured apart from the cost of the cgroup and the shim.
const variants: Variant[] = [
  bare,
  managed("exec", () => ({})),
  managed("exec + memory, pids, nofile", () => ({ resources: noCpu })),
  managed("exec + all limits (cpu: 1)", () => ({ resources: limits })),
];
const ociRss: number[] = [];
if (!("skip" in rootfs) && !("error" in rt)) {
  const oci = (port: number): Partial<AppSpec> => ({
    command: "/usr/local/bin/polis",
    driver: { kind: "oci", oci: { root: { kind: "rootfs", path: rootfs.dir }, runtime: "auto", stateDir: state, readOnlyRootfs: true, mounts: [{ source: BIN, target: "/usr/local/bin/polis", readOnly: true }], capAdd: [], seccomp: true, secrets: [] } },
    resources: limits,
  });
  variants.push(managed(`oci (${rt.name})`, oci));
  if (Bun.which("podman")) {
    // podman's default ulimits include RLIMIT_NPROC, which this sandbox refuses to set: a containers.conf without them.
    const conf = join(state, "containers.conf");
    await Bun.write(conf, "[containers]\ndefault_ulimits = []\n");
    variants.push({
      name: "podman run",
      async run(port) {
        const t0 = performance.now();
        const name = `polis-bench-${port}-${performance.now().toFixed(0)}`;
        const p = Bun.spawn(["podman", "--runtime", rt.name, "run", "-d", "--rm", "--name", name, "--network", "host", "--env", `PORT=${port}`, "-v", `${BIN}:/usr/local/bin/polis:ro`, "--rootfs", rootfs.dir, "/usr/local/bin/polis", "demo-app"], {
          stdio: ["ignore", "ignore", "ignore"],
          env: { ...process.env, CONTAINERS_CONF: conf },
        });
        const ms = await untilAccepts(port, t0);
        await p.exited;
        Bun.spawnSync(["podman", "rm", "-f", "-t", "0", name], { stdio: ["ignore", "ignore", "ignore"], env: { ...process.env, CONTAINERS_CONF: conf } });
        return ms;
      },
    });
  }
} else console.log(`oci skipped: ${"skip" in rootfs ? rootfs.skip : "error" in rt ? rt.error : ""}`);

const results = new Map<string, number[]>(variants.map((v) => [v.name, []]));
for (let i = 0; i < RUNS && performance.now() < DEADLINE; i++) {
  for (const [k, v] of variants.entries()) {
    const port = BASE_PORT + k;
    await untilClosed(port);
    results.get(v.name)!.push(await v.run(port));
  }
}

// Memory the oci driver adds per replica: the runtime process waiting on its container (VmRSS), and the shim
// is gone (it execs). Measured on 3 live replicas.
if (!("skip" in rootfs) && !("error" in rt)) {
  const pm = new ProcessManager({});
  const specs: AppSpec[] = [0, 1, 2].map((i) => ({
    ...spec(BASE_PORT + 10 + i, {}),
    name: `mem${i}`,
    command: "/usr/local/bin/polis",
    driver: { kind: "oci", oci: { root: { kind: "rootfs", path: rootfs.dir }, runtime: "auto", stateDir: state, readOnlyRootfs: true, mounts: [{ source: BIN, target: "/usr/local/bin/polis", readOnly: true }], capAdd: [], seccomp: true, secrets: [] } },
  }));
  void pm.apply(specs);
  for (const [i] of specs.entries()) await untilAccepts(BASE_PORT + 10 + i, performance.now());
  await Bun.sleep(500);
  for (const a of pm.snapshot()) {
    const pid = a.replicas[0]?.pid;
    if (!pid) continue;
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    if (m) ociRss.push(Number(m[1]) * 1024);
  }
  await pm.stopAll();
}

// The limits mechanism alone, without a runtime's start to hide it: cgroup setup, and spawn-to-exit of /bin/true
// directly vs through the launch shim (sh joining the groups, then exec).
const launch = { plain: [] as number[], shim: [] as number[], setup: [] as number[] };
{
  const support = detectCgroups();
  for (let i = 0; i < 40 && performance.now() < DEADLINE; i++) {
    let t = performance.now();
    await Bun.spawn(["/bin/true"], { stdio: ["ignore", "ignore", "ignore"] }).exited;
    launch.plain.push(performance.now() - t);
    t = performance.now();
    const l = prepareLimits(support, "bench", state, i, limits, false);
    launch.setup.push(performance.now() - t);
    t = performance.now();
    await Bun.spawn(l.wrap(["/bin/true"]), { stdio: ["ignore", "ignore", "ignore"] }).exited;
    launch.shim.push(performance.now() - t);
    l.cgroup?.remove();
  }
}

const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const bareMedian = q(results.get("bare spawn")!, 0.5);
console.log(`start-to-ready of the demo app, ${RUNS} alternated runs each (ms):`);
console.log("| variant | median | p90 | vs bare spawn |");
console.log("|---|---|---|---|");
for (const [name, xs] of results) console.log(`| ${name} | ${q(xs, 0.5).toFixed(1)} | ${q(xs, 0.9).toFixed(1)} | ${(q(xs, 0.5) / bareMedian).toFixed(2)}x |`);
console.log(`limits mechanism (median of 40): cgroup setup ${q(launch.setup, 0.5).toFixed(2)} ms; /bin/true ${q(launch.plain, 0.5).toFixed(2)} ms direct, ${q(launch.shim, 0.5).toFixed(2)} ms through the shim`);
if (ociRss.length > 0) console.log(`oci per-replica overhead (runtime process RSS): ${ociRss.map((b) => (b / 1048576).toFixed(1)).join(", ")} MiB`);
if (!("skip" in rootfs)) rootfs.remove();
rmSync(state, { recursive: true, force: true });
