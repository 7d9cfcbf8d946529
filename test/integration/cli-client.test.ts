// The CLI's client commands against a running agent (explicit --url and --token), and a clear failure when the
// agent cannot be reached.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningAgent, requireBinary } from "../support/agent.ts";
import { waitFor } from "../support/wait-for.ts";
import { freePort, getJson, type Json, startDemoAgent } from "./api-support.ts";

describe("polis client commands against a running agent", () => {
  let agent: RunningAgent;
  // An empty working directory: the CLI must not pick up a config/agent.yaml or .env from the repo.
  const cwd = mkdtempSync(join(tmpdir(), "polis-cli-"));
  beforeAll(async () => {
    agent = await startDemoAgent({ replicas: { min: 1, max: 3 } });
  }, 60_000);
  afterAll(async () => {
    await agent?.[Symbol.asyncDispose]();
    rmSync(cwd, { recursive: true, force: true });
  }, 60_000);

  async function polis(...args: string[]) {
    const p = Bun.spawn([requireBinary(), ...args, "--url", agent.url, "--token", agent.token], { cwd, stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "" } });
    const timer = setTimeout(() => p.kill("SIGKILL"), 15_000);
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    clearTimeout(timer);
    return { stdout, stderr, code };
  }

  test("polis status shows the agent, its workers, apps and checks", async () => {
    const r = await polis("status");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^agent \S+ \d+\.\d+\.\d+/);
    for (const w of ["procs", "health", "balancer-0", "scaler"]) expect(r.stdout).toContain(w);
    expect(r.stdout).toContain("demo");
    expect(r.stdout).toContain("demo:0:http");
  }, 60_000);

  test("polis apps lists each replica with its pid and port", async () => {
    const r = await polis("apps");
    expect(r.code).toBe(0);
    const replica = ((await getJson(agent, "/v1/apps/demo")).replicas as Json[])[0]!;
    const row = r.stdout.split("\n").find((l) => l.includes(String(replica.pid)));
    expect(row).toBeDefined();
    expect(row).toContain(String(replica.port));
    expect(row).toContain("ready");
  }, 60_000);

  test("polis services --json prints the catalog as JSON", async () => {
    const r = await polis("services", "--json");
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout) as Json;
    expect((body.services as Json[]).map((s) => `${s.namespace}/${s.name}`)).toContain("default/demo");
  }, 60_000);

  test("polis resolve demo prints the demo app's passing endpoints", async () => {
    const r = await polis("resolve", "demo");
    expect(r.code).toBe(0);
    for (const e of (await getJson(agent, "/v1/services/default/demo/resolve")).endpoints as Json[]) expect(r.stdout).toContain(String(e.port));
    expect(r.stdout).toContain("passing");
  }, 60_000);

  test("polis events --type proc.* prints only process events", async () => {
    const r = await polis("events", "--type", "proc.*");
    expect(r.code).toBe(0);
    const rows = r.stdout.split("\n").slice(1).filter((l) => /^\s*\d+\s/.test(l));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((l) => /\sproc\.[a-z]+\s/.test(l))).toBe(true);
  }, 60_000);

  test("polis restart demo --help and polis scale demo 3 -h print usage and change nothing", async () => {
    const before = await getJson(agent, "/v1/apps/demo");
    const lastSeq = (await getJson(agent, "/v1/events?limit=1")).lastSeq as number;
    for (const args of [["restart", "demo", "--help"], ["scale", "demo", "3", "-h"], ["restart", "demo", "0", "-h"]]) {
      const r = await polis(...args);
      expect(r.code).toBe(0);
      expect(r.stdout).toStartWith(`Usage: polis ${args[0]}`);
    }
    const after = await getJson(agent, "/v1/apps/demo");
    expect(after.desired).toBe(before.desired);
    expect((after.replicas as Json[]).map((x) => x.pid)).toEqual((before.replicas as Json[]).map((x) => x.pid));
    const procEvents = (await getJson(agent, `/v1/events?since=${lastSeq}&type=proc.*`)).events as Json[];
    expect(procEvents).toEqual([]);
  }, 60_000);

  test("polis scale demo 3 asks for 3 replicas and the agent gets there", async () => {
    const r = await polis("scale", "demo", "3");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("demo");
    expect(r.stdout).toContain("3");
    await waitFor(async () => (await getJson(agent, "/v1/apps/demo")).ready === 3, { what: "3 ready replicas", timeoutMs: 20_000 });
  }, 60_000);

  test("polis scale beyond the app's max fails with the agent's reason and exit 1", async () => {
    const r = await polis("scale", "demo", "9");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("1..3");
  }, 60_000);
});

test("a client command against an unreachable agent says so and exits 1", async () => {
  const port = await freePort();
  const cwd = mkdtempSync(join(tmpdir(), "polis-cli-"));
  try {
    for (const cmd of [["status"], ["apps"], ["services", "--json"]]) {
      const p = Bun.spawnSync([requireBinary(), ...cmd, "--url", `http://127.0.0.1:${port}`, "--token", "whatever-token-0000000000"], { cwd, env: { PATH: process.env.PATH ?? "" }, timeout: 20_000 });
      expect(p.exitCode).toBe(1);
      expect(p.stdout.toString()).toBe("");
      const err = p.stderr.toString();
      expect(err).toContain(`cannot reach the agent at http://127.0.0.1:${port}`);
      expect(err).not.toMatch(/\n\s+at /);
    }
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}, 60_000);
