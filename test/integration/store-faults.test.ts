// The compiled agent against real faults of its state store: a corrupt polis.db, a data dir deleted under it
// (then a restart that must adopt the replica it can no longer find in records), and a full disk on a tmpfs.
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { events, replicas } from "../fixtures/it-apps-fixture.ts";
import { type RunningAgent, requireBinary, startAgent } from "../support/agent.ts";
import { waitFor } from "../support/wait-for.ts";

const sleeper = { name: "sleeper", command: "sleep", args: ["1000"], replicas: 1, stop: { timeout: "2s" } };

const maintenance = (agent: RunningAgent) => agent.api("/v1/apps/sleeper/maintenance", { method: "PUT", body: JSON.stringify({ enable: true }) });

async function readyReplica(agent: RunningAgent) {
  return waitFor(async () => (await replicas(agent, "sleeper")).find((r) => r.state === "ready" && r.pid), { timeoutMs: 20_000, what: "sleeper ready" });
}

describe("state store faults", () => {
  test("a corrupt polis.db stops the start with one line naming the file and --recover; with --recover the agent moves it aside and starts", async () => {
    const root = mkdtempSync(join(tmpdir(), "polis-corrupt-"));
    const data = join(root, "data");
    mkdirSync(data);
    writeFileSync(join(data, "polis.db"), "not a database ".repeat(500));
    const config = join(root, "agent.yaml");
    writeFileSync(config, stringify({ agent: { data_dir: data }, api: { listen: "127.0.0.1:0" }, dns: { listen: "127.0.0.1:0" } }));
    try {
      const r = spawnSync(requireBinary(), ["agent", "--config", config], { encoding: "utf8", timeout: 30_000 });
      expect(r.status).toBe(1);
      const err = r.stderr.trim();
      expect(err.split("\n")).toHaveLength(1);
      expect(err).toContain(join(data, "polis.db"));
      expect(err).toContain("--recover");
      expect(err).not.toMatch(/\n\s+at /);
      await using agent = await startAgent({ config: { agent: { data_dir: data } }, args: ["--recover"] });
      expect(readdirSync(data).some((f) => f.startsWith("polis.db.corrupt-"))).toBe(true);
      expect((await agent.api("/v1/apps")).status).toBe(200);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);

  test("a data dir deleted under the agent is raised (event, /readyz, refused writes); the next agent adopts the replica instead of starting a second one", async () => {
    await using first = await startAgent({ config: { apps: [sleeper] } });
    const before = await readyReplica(first);
    const data = join(first.dir, "data");
    rmSync(data, { recursive: true, force: true });
    await first.waitForLine((l) => l.event === "store.gone", 10_000);
    const ready = await fetch(`${first.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { message: string }).message).toContain("deleted");
    const refused = await maintenance(first);
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { code: string }).code).toBe("store_unavailable");

    first.proc.kill("SIGKILL");
    await first.proc.exited;
    await using second = await startAgent({ sameDirAs: first });
    const after = await readyReplica(second);
    expect(after.pid).toBe(before.pid);
    expect(after.adopted).toBe(true);
    const evs = await events(second);
    expect(evs.filter((e) => e.type === "proc.spawned")).toEqual([]);
    expect((await replicas(second, "sleeper")).length).toBe(1);
  }, 90_000);

  test("a full disk: API changes get 507 with the envelope, one event and one log line, and SIGTERM still shuts down cleanly", async () => {
    const mnt = mkdtempSync(join(tmpdir(), "polis-full-"));
    const m = spawnSync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", mnt], { encoding: "utf8" });
    if (m.status !== 0) {
      rmSync(mnt, { recursive: true, force: true });
      if (process.env.CI === "true") throw new Error(`CI needs mount -t tmpfs for this test: ${m.stderr}`);
      console.warn(`skipped: mount -t tmpfs is not permitted here (${m.stderr.trim()})`);
      return;
    }
    try {
      const agent = await startAgent({ config: { agent: { data_dir: join(mnt, "data") }, apps: [sleeper] } });
      try {
        await readyReplica(agent);
        spawnSync("dd", ["if=/dev/zero", `of=${join(mnt, "filler")}`, "bs=64k"], { stdio: "ignore" });
        for (let i = 0; i < 3; i++) {
          const res = await agent.api("/v1/apps/sleeper/maintenance", { method: "PUT", body: JSON.stringify({ enable: true, reason: "x".repeat(400) }) });
          expect(res.status).toBe(507);
          const body = (await res.json()) as { code: string; message: string };
          expect(body.code).toBe("insufficient_storage");
          expect(body.message).toContain(join(mnt, "data", "polis.db"));
        }
        expect(agent.lines.filter((l) => l.event === "store.full")).toHaveLength(1);
        expect(agent.lines.filter((l) => /uncaught|unhandled/.test(String(l.msg)))).toEqual([]);
        expect(await agent.stop("SIGTERM")).toBe(0);
        expect(agent.lines.filter((l) => String(l.msg).includes("shutdown failed"))).toEqual([]);
      } finally {
        await agent.stop();
        rmSync(agent.dir, { recursive: true, force: true });
      }
    } finally {
      spawnSync("umount", [mnt]);
      rmSync(mnt, { recursive: true, force: true });
    }
  }, 90_000);
});
