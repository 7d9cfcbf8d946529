import { describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireBinary, startAgent } from "../support/agent.ts";
import { waitFor } from "../support/wait-for.ts";

interface WorkerInfo {
  name: string;
  state: string;
  restarts: number;
}

describe("the compiled binary", () => {
  test("runs from an empty directory and every worker reports running", async () => {
    const dir = mkdtempSync(join(tmpdir(), "polis-empty-"));
    try {
      const copy = join(dir, "polis");
      copyFileSync(requireBinary(), copy);
      Bun.spawnSync(["chmod", "+x", copy]);
      const version = Bun.spawnSync([copy, "version"], { cwd: dir });
      expect(version.stdout.toString()).toMatch(/^polis \d+\.\d+\.\d+/);
      await using agent = await startAgent({ binary: copy, cwd: dir });
      const res = await agent.api("/v1/agent");
      expect(res.status).toBe(200);
      const body = (await res.json()) as { workers: WorkerInfo[]; version: string };
      expect(body.workers.map((w) => w.name).sort()).toEqual(["balancer-0", "health", "procs", "scaler"]);
      expect(body.workers.every((w) => w.state === "running")).toBe(true);
      expect((await fetch(`${agent.url}/readyz`)).status).toBe(200);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a worker that crashes is restarted and shown as restarted", async () => {
    await using agent = await startAgent({ config: { agent: { allow_fault_injection: true } } });
    const crash = await agent.api("/v1/agent/workers/health/crash", { method: "POST" });
    expect(crash.status).toBe(202);
    const health = await waitFor(
      async () => {
        const body = (await (await agent.api("/v1/agent")).json()) as { workers: WorkerInfo[] };
        const w = body.workers.find((x) => x.name === "health")!;
        return w.restarts >= 1 && w.state === "running" ? w : undefined;
      },
      { what: "health worker restarted" },
    );
    expect(health.restarts).toBe(1);
    await agent.waitForLine((l) => l.event === "worker.restarted" && l.target === "health");
  });

  test("fault injection is refused unless the config allows it", async () => {
    await using agent = await startAgent();
    const res = await agent.api("/v1/agent/workers/health/crash", { method: "POST" });
    expect(res.status).toBe(403);
  });

  test("SIGTERM stops the agent with exit code 0", async () => {
    await using agent = await startAgent();
    expect(await agent.stop("SIGTERM")).toBe(0);
    expect(agent.lines.some((l) => l.msg === "agent stopped")).toBe(true);
  });

  test("mutating routes need a token; the local admin token is written with mode 0600", async () => {
    await using agent = await startAgent({ config: { agent: { allow_fault_injection: true } } });
    const res = await fetch(`${agent.url}/v1/agent/workers/health/crash`, { method: "POST" });
    expect(res.status).toBe(401);
    const mode = Bun.spawnSync(["stat", "-c", "%a", join(agent.dir, "data", "admin.token")]).stdout.toString().trim();
    expect(mode).toBe("600");
    expect(agent.lines.some((l) => JSON.stringify(l).includes(agent.token))).toBe(false);
  });

  test("a bad config exits non-zero and names the field path on stderr", () => {
    const dir = mkdtempSync(join(tmpdir(), "polis-bad-"));
    try {
      const file = join(dir, "bad.yaml");
      writeFileSync(file, "api:\n  listen: 127.0.0.1:99999\napps:\n  - name: web\n    comand: x\n");
      for (const args of [["agent", "--config", file], ["validate", file]]) {
        const r = Bun.spawnSync([requireBinary(), ...args], { cwd: dir });
        expect(r.exitCode).toBe(1);
        const err = r.stderr.toString();
        expect(err).toContain("api.listen");
        expect(err).toContain('apps[0].comand: unknown key "comand"');
        expect(err).not.toMatch(/\n\s+at /); // no stack trace
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
