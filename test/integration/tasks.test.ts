// The task queue on the compiled binary: real processes through the procs worker, retries, timeout, cancel,
// declared tasks with checked parameters, redacted secrets; and the crash case: SIGKILL of the agent with 200
// tasks queued and 5 running, after which every task runs exactly once.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { requireBinary, type RunningAgent, startAgent } from "../support/agent.ts";
import { waitFor } from "../support/wait-for.ts";
import type { Json } from "./api-support.ts";

const post = async (agent: RunningAgent, path: string, body: unknown) => {
  const r = await agent.api(path, { method: "POST", body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Json };
};
const taskOf = async (agent: RunningAgent, id: string) => (await (await agent.api(`/v1/tasks/${id}`)).json()) as Json;
const finished = (s: string) => ["succeeded", "failed", "timed_out", "cancelled"].includes(s);

describe("tasks on the compiled binary", () => {
  let agent: RunningAgent;
  beforeAll(async () => {
    agent = await startAgent({
      config: {
        api: { allow_api_tasks: true },
        task_queue: { max_concurrent: 4 },
        tasks: [{ name: "greet", command: "/bin/sh", args: ["-c", "echo hello {{who}}"], params: { who: { pattern: "[a-z]+" } } }],
      },
    });
  });
  afterAll(async () => {
    await agent?.stop();
  });
  const until = (id: string, pred: (t: Json) => boolean, what: string) => waitFor(async () => {
    const t = await taskOf(agent, id);
    return pred(t) && t;
  }, { timeoutMs: 20_000, what });

  test("a failing task is retried per its policy and ends failed with every attempt, its output kept", async () => {
    const { status, body } = await post(agent, "/v1/tasks", { name: "flaky", command: "/bin/sh", args: ["-c", "echo attempt $POLIS_TASK_ATTEMPT; exit 3"], retries: { max: 1, backoff: "100ms" } });
    expect(status).toBe(201);
    const t = await until(body.id, (x) => finished(x.state), "the flaky task to finish");
    expect(t).toMatchObject({ state: "failed", exitCode: 3 });
    expect(t.attempts.map((a: Json) => a.exitCode)).toEqual([3, 3]);
    const logs = (await (await agent.api(`/v1/tasks/${body.id}/logs`)).json()) as Json;
    expect(logs.text).toBe("attempt 2\n");
    expect(logs.note).toBe("captured all 10 bytes");
  }, 30_000);

  test("a timeout stops the process group and ends the task timed_out; cancel ends one cancelled, twice is 409", async () => {
    const slow = await post(agent, "/v1/tasks", { name: "slow", command: "/bin/sleep", args: ["30"], timeout: "500ms", kill_timeout: "1s" });
    const c = await post(agent, "/v1/tasks", { name: "cancel-me", command: "/bin/sleep", args: ["30"] });
    await until(c.body.id, (x) => x.state === "running", "cancel-me running");
    const cancelled = await post(agent, `/v1/tasks/${c.body.id}/cancel`, {});
    expect(cancelled.status).toBe(200);
    expect((await until(c.body.id, (x) => finished(x.state), "cancel-me finished")).state).toBe("cancelled");
    expect((await post(agent, `/v1/tasks/${c.body.id}/cancel`, {})).status).toBe(409);
    expect((await post(agent, "/v1/tasks/424242/cancel", {})).status).toBe(404);
    const t = await until(slow.body.id, (x) => finished(x.state), "slow finished");
    expect(t).toMatchObject({ state: "timed_out", signal: "SIGTERM" });
  }, 30_000);

  test("a declared task runs by name with parameters checked against their patterns; secrets in env are redacted", async () => {
    const ok = await post(agent, "/v1/tasks", { name: "greet", params: { who: "bob" } });
    expect(ok.status).toBe(201);
    await until(ok.body.id, (x) => x.state === "succeeded", "greet succeeded");
    expect(((await (await agent.api(`/v1/tasks/${ok.body.id}/logs`)).json()) as Json).text).toBe("hello bob\n");
    const bad = await post(agent, "/v1/tasks/greet/execute", { params: { who: "bob; rm -rf /" } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain("params.who");
    const unknown = await post(agent, "/v1/tasks/greet/execute", { params: { whom: "x" } });
    expect(unknown.status).toBe(400);
    const secret = await post(agent, "/v1/tasks", { name: "env", command: "/bin/true", env: { API_TOKEN: "s3cr3t-value", MODE: "fast" } });
    expect(secret.body.env).toEqual({ API_TOKEN: "[redacted]", MODE: "fast" });
    const events = await (await agent.api("/v1/events?limit=1000")).text();
    expect(events).not.toContain("s3cr3t-value");
    const badBody = await post(agent, "/v1/tasks", { name: "x", command: "/bin/true", priority: "urgent" });
    expect(badBody.status).toBe(400);
    expect(badBody.body.message).toContain("priority");
  }, 30_000);

  test("polis run queues a command, streams its output and exits with its code; polis tasks lists it", async () => {
    const p = Bun.spawn([requireBinary(), "run", "--url", agent.url, "--token", agent.token, "--", "/bin/sh", "-c", "echo from-run; echo to-err >&2; exit 7"], { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "" } });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect(out).toContain("from-run");
    expect(err).toContain("to-err");
    expect(code).toBe(7);
    const l = Bun.spawn([requireBinary(), "tasks", "--url", agent.url, "--token", agent.token], { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "" } });
    const list = await new Response(l.stdout).text();
    expect(await l.exited).toBe(0);
    expect(list).toContain("failed");
    expect(list).toContain("/bin/sh");
  }, 30_000);
});

describe("a scheduled task in real time", () => {
  test("a declared task with a seconds schedule runs on it by itself, each run a task of its own, overlap skipped", async () => {
    const agent = await startAgent({ config: { tasks: [{ name: "tick", command: "/bin/sh", args: ["-c", "echo tick $POLIS_TASK_ID"], schedule: "* * * * * *", overlap: "skip" }] } });
    try {
      const defs = (await (await agent.api("/v1/tasks/definitions")).json()) as Json;
      expect(JSON.stringify(defs)).toContain("* * * * * *");
      const runs = await waitFor(async () => {
        const l = (((await (await agent.api("/v1/tasks?name=tick&status=succeeded")).json()) as Json).tasks as Json[]);
        return l.length >= 2 && l;
      }, { timeoutMs: 20_000, what: "two scheduled runs" });
      expect(new Set(runs.map((t) => t.id)).size).toBe(runs.length);
      for (const t of runs.slice(0, 2)) {
        const out = (await (await agent.api(`/v1/tasks/${t.id}/logs`)).text());
        expect(out).toContain(`tick ${t.id}`);
      }
    } finally {
      await agent.stop();
    }
  }, 40_000);
});

describe("tasks across an agent SIGKILL", () => {
  test("with 200 queued and 5 running, every task is accounted for after the restart and none runs twice", async () => {
    let agent = await startAgent({ config: { api: { allow_api_tasks: true }, task_queue: { max_concurrent: 5 } } });
    try {
      const log = join(agent.dir, "runs.log");
      const ids: string[] = [];
      // The first five outlive the agent's restart (adopted); the rest are short.
      for (let i = 0; i < 205; i++) {
        const secs = i < 5 ? "8" : "0.05";
        const r = await post(agent, "/v1/tasks", { name: `job-${i}`, command: "/bin/sh", args: ["-c", `echo $POLIS_TASK_ID >> ${log}; sleep ${secs}`] });
        expect(r.status).toBe(201);
        ids.push(r.body.id);
      }
      const list = async () => (((await (await agent.api("/v1/tasks?limit=500")).json()) as Json).tasks as Json[]);
      await waitFor(async () => (await list()).filter((t) => t.state === "running").length === 5, { what: "5 running" });
      const before = await list();
      expect(before.filter((t) => t.state === "queued").length).toBe(200);
      agent.proc.kill("SIGKILL");
      await agent.proc.exited;
      agent = await startAgent({ sameDirAs: agent });
      const after = await waitFor(async () => {
        const l = await list();
        return l.length === 205 && l.every((t) => finished(t.state)) && l;
      }, { timeoutMs: 60_000, intervalMs: 200, what: "every task finished" });
      expect(after.filter((t) => t.state !== "succeeded").map((t) => `${t.id}:${t.state}:${t.reason}`)).toEqual([]);
      expect(after.every((t) => t.attempts.length === 1)).toBe(true);
      // The five that outlived the agent were followed by the new one, their exit status read (not their parent).
      const adopted = after.filter((t) => t.attempts[0].adopted === true);
      expect(adopted.map((t) => t.id).sort()).toEqual(ids.slice(0, 5).sort());
      expect(adopted.map((t) => [t.attempts[0].outcome, t.exitCode])).toEqual(Array.from({ length: 5 }, () => ["exited", 0]));
      const runs = readFileSync(log, "utf8").trim().split("\n");
      expect(runs.length).toBe(205);
      expect(new Set(runs).size).toBe(205);
    } finally {
      await agent.stop();
    }
  }, 120_000);

  test("a task adopted after the SIGKILL ends with its real exit code or signal, not an unknown status", async () => {
    let agent = await startAgent({ config: { api: { allow_api_tasks: true }, task_queue: { max_concurrent: 3 } } });
    try {
      const go = join(agent.dir, "go");
      // Each waits for the file the test creates once the new agent follows it, then ends its own way.
      const wait = `while [ ! -e ${go} ]; do sleep 0.05; done;`;
      const ends = [`${wait} exit 0`, `${wait} exit 3`, `${wait} kill -TERM $$`];
      const ids: string[] = [];
      for (const [i, script] of ends.entries()) ids.push((await post(agent, "/v1/tasks", { name: `end-${i}`, command: "/bin/sh", args: ["-c", script] })).body.id);
      await waitFor(async () => (await Promise.all(ids.map((id) => taskOf(agent, id)))).every((t) => t.state === "running"), { what: "3 running" });
      agent.proc.kill("SIGKILL");
      await agent.proc.exited;
      agent = await startAgent({ sameDirAs: agent });
      await waitFor(async () => (await Promise.all(ids.map((id) => taskOf(agent, id)))).every((t) => t.attempts[0]?.adopted === true), { timeoutMs: 20_000, what: "the 3 adopted" });
      await Bun.write(go, "");
      const done = await waitFor(async () => {
        const ts = await Promise.all(ids.map((id) => taskOf(agent, id)));
        return ts.every((t) => finished(t.state)) && ts;
      }, { timeoutMs: 20_000, what: "the 3 finished" });
      expect(done.map((t) => [t.state, t.exitCode, t.signal ?? null, t.attempts.length, t.attempts[0].outcome])).toEqual([
        ["succeeded", 0, null, 1, "exited"],
        ["failed", 3, null, 1, "exited"],
        ["failed", null, "SIGTERM", 1, "exited"],
      ]);
      expect(done[1].reason).toBe("exit code 3");
    } finally {
      await agent.stop();
    }
  }, 90_000);
});
