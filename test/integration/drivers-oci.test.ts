// The oci driver on the compiled binary: the demo app (this very binary, bind-mounted into a busybox rootfs the
// test builds) runs as 3 containers behind the balancer with health checks; a rolling restart fails no request;
// a container whose process dies is restarted in its slot; a new agent adopts the containers a SIGKILLed agent
// left running instead of starting them twice; and shutdown leaves no container and no cgroup behind.
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { detectCgroups } from "../../src/procs/cgroups/detect.ts";
import { chooseRuntime } from "../../src/procs/drivers/oci.ts";
import { allReady, demoApp, events, load, replicas, startStack } from "../fixtures/it-apps-fixture.ts";
import { BINARY, startAgent } from "../support/agent.ts";
import { buildRootfs } from "../support/oci-rootfs.ts";
import { waitFor } from "../support/wait-for.ts";

const runtime = chooseRuntime("auto");
const support = detectCgroups();
const rootfs = "error" in runtime ? { skip: runtime.error } : support.mode === "none" ? { skip: "no writable cgroup to run containers in" } : buildRootfs([BINARY]);
const skip = "skip" in rootfs ? rootfs.skip : null;
if (skip) console.warn(`drivers-oci: skipped: ${skip}`);
afterAll(() => {
  if (!("skip" in rootfs)) rootfs.remove();
});
const ociTest = skip ? test.skip : test;

const box = (replicasN: number) =>
  demoApp("box", replicasN, {
    driver: "oci",
    oci: { rootfs: "skip" in rootfs ? "/" : rootfs.dir },
    resources: { memory: "256MiB", pids: 256 },
    checks: [{ name: "http", kind: "http", path: "/healthz", interval: "1s", timeout: "500ms" }],
  });

/** The processes of replica `id`'s container: its runtime's nested cgroup (the runtime itself sits in the parent). */
function containerPids(id: number): number[] {
  const base = support.bases.pids ?? support.bases.memory!;
  const out: number[] = [];
  for (const scope of readdirSync(base).filter((d) => d.startsWith("polis-"))) {
    const dir = join(base, scope, `box-${id}`);
    let subs: string[] = [];
    try {
      subs = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      continue;
    }
    for (const s of subs) out.push(...readFileSync(join(dir, s, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number));
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !st.slice(st.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
  }
}

describe("oci driver", () => {
  ociTest("3 containers serve behind the balancer; a rolling restart fails no request; a dead container is restarted", async () => {
    const { agent, port } = await startStack([box(3)]);
    await using _ = agent;
    const before = await allReady(agent, "box", 3, 60_000);
    // They are containers: each runtime process has a container (its own pid namespace) in its cgroup.
    for (const r of before) expect(containerPids(r.id).length).toBeGreaterThan(0);
    const traffic = load(port, 8, 90_000);
    try {
      await waitFor(() => traffic.ok >= 50, { timeoutMs: 20_000, what: "load flowing" });
      const res = await agent.api("/v1/apps/box/restart", { method: "POST" });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: "done", replaced: 3 });
      const done = traffic.ok;
      await waitFor(() => traffic.ok >= done + 50, { timeoutMs: 20_000, what: "load after the restart" });
    } finally {
      await traffic.stop();
    }
    expect(traffic.failures).toEqual([]);
    const after = await allReady(agent, "box", 3, 60_000);
    const oldPids = new Set(before.map((r) => r.pid));
    expect(after.every((r) => r.pid !== null && !oldPids.has(r.pid))).toBe(true);

    // The container's own process dies (not the runtime): the runtime exits with it and the slot restarts.
    const victim = after[0]!;
    for (const pid of containerPids(victim.id)) process.kill(pid, "SIGKILL");
    const back = await waitFor(
      async () => (await replicas(agent, "box")).find((r) => r.id === victim.id && r.state === "ready" && r.pid !== victim.pid),
      { timeoutMs: 30_000, what: "the killed container restarted in its slot" },
    );
    expect(back.restarts).toBe(1);
    const exit = (await events(agent)).find((e) => e.type === "proc.exited" && e.target === `box-${victim.id}` && e.data?.pid === victim.pid);
    // Killed from outside, well under its memory limit: a failure, not an OOM kill.
    expect(exit?.data?.reason).toBe("exit-failure");
  }, 180_000);

  ociTest("a new agent adopts the containers a SIGKILLed agent left running; shutdown removes containers and cgroups", async () => {
    const { agent: first, port } = await startStack([box(2)]);
    const dir = first.dir;
    let second: Awaited<ReturnType<typeof startAgent>> | undefined;
    try {
      const before = await allReady(first, "box", 2, 60_000);
      const inside = before.flatMap((r) => containerPids(r.id));
      expect(inside.length).toBeGreaterThan(0);
      first.proc.kill("SIGKILL");
      await first.proc.exited;
      expect(before.every((r) => alive(r.pid!))).toBe(true);

      second = await startAgent({ sameDirAs: first });
      const after = await allReady(second, "box", 2, 60_000);
      expect(after.map((r) => r.pid).sort()).toEqual(before.map((r) => r.pid).sort());
      expect(after.every((r) => r.adopted && r.restarts === 0)).toBe(true);
      const evs = await events(second);
      expect(evs.some((e) => e.type === "proc.spawned" || e.type === "proc.adopt-rejected")).toBe(false);
      expect(inside.every(alive)).toBe(true);
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);

      expect(await second.stop("SIGTERM")).toBe(0);
      for (const pid of [...before.map((r) => r.pid!), ...inside]) expect(alive(pid)).toBe(false);
      const state = join(dir, "data", "containers");
      for (const rt of ["runc", "crun"]) {
        let left: string[] = [];
        try {
          left = readdirSync(join(state, rt));
        } catch {
          // This runtime was not used.
        }
        expect(left).toEqual([]);
      }
      expect(containerPids(0).concat(containerPids(1))).toEqual([]);
    } finally {
      first.proc.kill("SIGKILL");
      if (second) await second[Symbol.asyncDispose]();
      await first[Symbol.asyncDispose]();
    }
  }, 180_000);
});
