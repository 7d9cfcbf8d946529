// The oci driver on the compiled binary: the demo app (this very binary, bind-mounted into a busybox rootfs the
// test builds) runs as 3 containers behind the balancer with health checks; a rolling restart fails no request;
// a container whose process dies is restarted in its slot; a new agent adopts the containers a SIGKILLed agent
// left running instead of starting them twice; and shutdown leaves no container and no cgroup behind.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectCgroups } from "../../src/procs/cgroups/detect.ts";
import { SECRETS_BASE, chooseRuntime } from "../../src/procs/drivers/oci.ts";
import { allReady, demoApp, events, load, replicas, startStack } from "../fixtures/it-apps-fixture.ts";
import { BINARY, startAgent } from "../support/agent.ts";
import { buildLayout } from "../support/oci-image.ts";
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
  ociTest("secrets are files on a tmpfs at /run/secrets, owned by the container's user, never in config.json; gone after stop", async () => {
    const work = mkdtempSync(join(tmpdir(), "polis-oci-secrets-"));
    try {
      const out = join(work, "out");
      // The rootfs (a mkdtemp, 0700) and the output directory usable by the container's user (1000).
      chmodSync((rootfs as { dir: string }).dir, 0o755);
      mkdirSync(out, { mode: 0o777 });
      chmodSync(out, 0o777);
      writeFileSync(join(work, "db.pw"), "s3cr3t-from-file", { mode: 0o600 });
      const script = [
        "cat /run/secrets/db_password > /out/file",
        "cat /run/secrets/api_token > /out/env",
        "grep ' /run/secrets ' /proc/mounts > /out/mounts",
        "ls -ln /run/secrets > /out/ls",
        "exec sleep 600",
      ].join("; ");
      const agent = await startAgent({
        env: { BOX_API_TOKEN: "t0ken-from-env" },
        config: {
          apps: [
            {
              name: "sec",
              command: "/bin/sh",
              args: ["-c", script],
              replicas: 1,
              driver: "oci",
              oci: {
                rootfs: (rootfs as { dir: string }).dir,
                user: "1000:1000",
                volumes: [{ source: out, target: "/out", read_only: false }],
                secrets: [
                  { name: "db_password", file: join(work, "db.pw") },
                  { name: "api_token", env: "BOX_API_TOKEN" },
                ],
              },
            },
          ],
        },
      });
      try {
        await waitFor(() => existsSync(join(out, "ls")) && readFileSync(join(out, "ls"), "utf8").includes("db_password"), {
          timeoutMs: 30_000,
          what: "the container wrote what it saw",
        }).catch(async (e) => {
          const logs = readdirSync(agent.dir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile() && f.name.includes("sec"));
          throw new Error(`${e}; logs: ${logs.map((f) => readFileSync(join(f.parentPath, f.name), "utf8").slice(-600)).join(" | ")}`);
        });
        expect(readFileSync(join(out, "file"), "utf8")).toBe("s3cr3t-from-file");
        expect(readFileSync(join(out, "env"), "utf8")).toBe("t0ken-from-env");
        // Its host source is a tmpfs, mounted read-only.
        const mount = readFileSync(join(out, "mounts"), "utf8");
        expect(mount).toContain(" /run/secrets tmpfs ro,");
        for (const name of ["db_password", "api_token"]) expect(readFileSync(join(out, "ls"), "utf8")).toMatch(new RegExp(`-r--------\\s+1 1000\\s+1000 .* ${name}`));
        const bundles = join(agent.dir, "data", "containers", "bundles");
        const config = readFileSync(join(bundles, readdirSync(bundles)[0]!, "config.json"), "utf8");
        expect(config).not.toContain("s3cr3t");
        expect(config).not.toContain("t0ken");
        const logs = readdirSync(agent.dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith(".log"));
        for (const l of logs) expect(readFileSync(join(l.parentPath, l.name), "utf8")).not.toContain("t0ken");
        expect(await agent.stop("SIGTERM")).toBe(0);
        expect(readdirSync(SECRETS_BASE).filter((d) => d.endsWith("-sec-0"))).toEqual([]);
      } finally {
        await agent[Symbol.asyncDispose]();
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 90_000);

  ociTest("an app from an OCI image layout: replicas share one verified unpack and serve; a tampered image is refused", async () => {
    const work = mkdtempSync(join(tmpdir(), "polis-oci-image-"));
    try {
      const r = rootfs as { dir: string };
      // Two layers: the busybox rootfs, then one that whites out a file of the first and adds its own.
      writeFileSync(join(r.dir, "etc/stale"), "from layer 0");
      const top = join(work, "top");
      mkdirSync(join(top, "etc"), { recursive: true });
      writeFileSync(join(top, "etc/.wh.stale"), "");
      writeFileSync(join(top, "etc/release"), "layer 1");
      const good = buildLayout([{ dir: r.dir, gzip: true }, { dir: top }], { into: join(work, "good") });
      rmSync(join(r.dir, "etc/stale"));
      const bad = buildLayout([{ dir: top }], { into: join(work, "bad") });
      const badBlob = join(bad.dir, "blobs", "sha256", bad.layerDigests[0]!.slice(7));
      writeFileSync(badBlob, Buffer.concat([readFileSync(badBlob), Buffer.from("tampered")]));
      const app = { ...box(2), oci: { image: good.dir } };
      const tampered = { ...demoApp("tampered", 1, { driver: "oci", oci: { image: bad.dir } }) };
      const { agent, port } = await startStack([app, tampered]);
      await using _ = agent;
      await allReady(agent, "box", 2, 60_000);
      const traffic = load(port, 4, 30_000);
      try {
        await waitFor(() => traffic.ok >= 40 && traffic.byReplica.size === 2, { timeoutMs: 20_000, what: "both image replicas serving" });
      } finally {
        await traffic.stop();
      }
      expect(traffic.failures).toEqual([]);
      // One unpack, named by the manifest digest, holding the layers applied in order.
      const images = join(agent.dir, "data", "containers", "images");
      expect(readdirSync(images)).toEqual([`sha256-${good.manifestDigest.slice(7)}`]);
      const unpacked = join(images, readdirSync(images)[0]!, "rootfs");
      expect(readFileSync(join(unpacked, "etc/release"), "utf8")).toBe("layer 1");
      expect(readdirSync(join(unpacked, "etc"))).not.toContain("stale");
      // The tampered image never runs: its spawn fails naming the blob and the digest it should have.
      const failed = await waitFor(async () => (await events(agent)).find((e) => e.type === "proc.spawn-failed" && e.target === "tampered-0"), { timeoutMs: 20_000, what: "tampered image refused" });
      expect(failed.message).toContain(`tampered: image ${bad.dir}: layer 0 blob ${badBlob} fails its digest: expected ${bad.layerDigests[0]}`);
      expect((await replicas(agent, "tampered")).every((x) => x.state !== "ready")).toBe(true);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 120_000);

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
