// The CLI's operator commands against a running agent: app states as they are, describe, logs (recent lines then
// follow, filters), top, restart progress, drain, tokens by role, local times and terminal-only colour.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningAgent, requireBinary } from "../support/agent.ts";
import { waitFor } from "../support/wait-for.ts";
import { freePort, getJson, type Json, startDemoAgent } from "./api-support.ts";

const READ = "read-only-token-0123456789";
const OPS = "operator-token-0123456789";

describe("polis operator commands", () => {
  let agent: RunningAgent;
  let configPath: string;
  const cwd = mkdtempSync(join(tmpdir(), "polis-cli-ops-"));
  beforeAll(async () => {
    const web = await freePort();
    agent = await startDemoAgent({
      replicas: { min: 2, max: 3 },
      balancerListen: `127.0.0.1:${web}`,
      // The read-only token comes first: a command that changes something must not pick it.
      env: { POLIS_API_TOKEN: "admin-token-for-the-test-0123456789" },
      config: {
        agent: { allow_fault_injection: true },
        api: { tokens: [{ name: "viewer", token: READ, role: "read" }, { name: "ops", token: OPS, role: "operator" }] },
        apps: [
          // Writes one line to each stream, then idles: logs filters have both kinds to choose from.
          { name: "chatty", command: "/bin/sh", args: ["-c", "echo chatty-out; echo chatty-err >&2; exec sleep 600"], readiness: { kind: "stdout", pattern: "chatty-out", timeout: "10s" }, stop: { timeout: "2s" } },
          // Fails at once and waits 10 minutes before its next try: it sits in backoff for the whole run.
          { name: "flaky", command: "/bin/sh", args: ["-c", "exit 3"], restart: { immediate_first: false, initial_delay: "10m", max_delay: "10m" } },
          // Autoscaled on CPU; it idles, so the autoscaler would keep it at 1 unless paused.
          { name: "auto", command: "/bin/sh", args: ["-c", "echo up; exec sleep 600"], replicas: { min: 1, max: 3 }, readiness: { kind: "stdout", pattern: "up", timeout: "10s" }, stop: { timeout: "2s" }, scaling: { metrics: [{ name: "cpu", target: 60 }] } },
          // Fails at once, again and again: a crash loop after two restarts.
          { name: "doomed", command: "/bin/sh", args: ["-c", "exit 4"], restart: { initial_delay: "10ms", max_delay: "10ms", crash_loop: { max_restarts: 2, window: "60s", cooldown: "10m" } } },
        ],
      },
    });
    configPath = join(agent.dir, "agent.yaml");
  }, 60_000);
  afterAll(async () => {
    await agent?.[Symbol.asyncDispose]();
    rmSync(cwd, { recursive: true, force: true });
  }, 60_000);

  /** Runs the binary with --url and the agent's config (tokens come from it, by role); no --token. */
  function spawn(args: string[], env: Record<string, string> = {}, wrap?: (cmd: string[]) => string[]) {
    const cmd = [requireBinary(), ...args, "--url", agent.url, "--config", configPath];
    return Bun.spawn(wrap ? wrap(cmd) : cmd, { cwd, stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "", ...env } });
  }
  async function polis(args: string[], env: Record<string, string> = {}, wrap?: (cmd: string[]) => string[]) {
    const p = spawn(args, env, wrap);
    const timer = setTimeout(() => p.kill("SIGKILL"), 30_000);
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    clearTimeout(timer);
    return { stdout, stderr, code };
  }
  /** script(1) runs the command on a pseudo-terminal. */
  const onTty = (cmd: string[]) => ["script", "-qec", cmd.map((w) => `'${w}'`).join(" "), "/dev/null"];
  const row = (text: string, first: string) => text.split("\n").find((l) => l.split(/\s+/)[0] === first);

  test("status shows each app's state as it is: ok, backoff, crash-loop (not ok)", async () => {
    await waitFor(async () => (await getJson(agent, "/v1/apps/doomed")).crashLoop === true, { what: "doomed in a crash loop", timeoutMs: 20_000 });
    await waitFor(async () => ((await getJson(agent, "/v1/apps/flaky")).replicas as Json[]).some((r) => r.state === "backoff"), { what: "flaky in backoff", timeoutMs: 20_000 });
    const r = await polis(["status"]);
    expect(r.code).toBe(0);
    const apps = r.stdout.slice(r.stdout.indexOf("\nApps\n"), r.stdout.indexOf("\nChecks\n"));
    expect(row(apps, "demo")).toMatch(/^demo\s+ok\s+2\s+2/);
    expect(row(apps, "chatty")).toMatch(/^chatty\s+ok\s+1\s+1/);
    expect(row(apps, "flaky")).toMatch(/^flaky\s+backoff\s+0\s+1/);
    expect(row(apps, "doomed")).toMatch(/^doomed\s+crash-loop\s+0\s+1/);
  }, 60_000);

  test("output to a pipe has no colour or symbols; on a terminal it has both, and NO_COLOR keeps only the symbols", async () => {
    const plain = await polis(["status"]);
    expect(plain.stdout).not.toContain("\x1b[");
    expect(plain.stdout).not.toContain("✓");
    const tty = await polis(["status"], {}, onTty);
    expect(tty.stdout).toContain("\x1b[32m✓ ok");
    expect(tty.stdout).toContain("✗ crash-loop");
    const noColor = await polis(["status"], { NO_COLOR: "1" }, onTty);
    expect(noColor.stdout).toContain("✓ ok");
    expect(noColor.stdout).not.toContain("\x1b[32m");
  }, 60_000);

  test("times are printed in the local zone: TZ moves them by the zone's offset", async () => {
    const times = async (tz: string) => {
      // demo-0's events: it started once and stays up, so both calls list the same ones (newer events elsewhere cannot shift them).
      const r = await polis(["events", "--target", "demo-0", "--limit", "5"], { TZ: tz });
      expect(r.code).toBe(0);
      return new Map(
        r.stdout
          .split("\n")
          .map((l) => /^(\d+)\s+(?:\d{4}-\d\d-\d\d )?(\d\d):(\d\d):\d\d\s/.exec(l))
          .filter((m) => m !== null)
          .map((m) => [m![1], Number(m![2]) * 60 + Number(m![3])]),
      );
    };
    const utc = await times("UTC");
    const kolkata = await times("Asia/Kolkata"); // UTC+05:30, no daylight saving
    expect(utc.size).toBeGreaterThan(0);
    expect([...kolkata.keys()].sort()).toEqual([...utc.keys()].sort());
    for (const [seq, minutes] of utc) expect(((kolkata.get(seq)! - minutes) % 1440 + 1440) % 1440).toBe(330);
  }, 60_000);

  test("describe shows one app in full: state, command, replicas, checks, balancer endpoints, events", async () => {
    const demo = await getJson(agent, "/v1/apps/demo");
    const r = await polis(["describe", "demo"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^demo\s+ok\s+2\/2 ready/);
    expect(r.stdout).toContain("command    @self demo-app");
    for (const x of demo.replicas as Json[]) expect(r.stdout).toContain(String(x.pid));
    expect(r.stdout).toContain("demo:0:http");
    expect(r.stdout).toMatch(/\nweb\s+demo-0\s+127\.0\.0\.1:\d+\s+passing/);
    expect(r.stdout).toMatch(/proc\.ready\s+demo-\d/);
    const missing = await polis(["describe", "nosuch"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no app named nosuch");
  }, 60_000);

  test("logs --no-follow prints recent lines with time, replica and stream; --stderr and --replica filter them", async () => {
    const all = await polis(["logs", "chatty", "--no-follow"]);
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/^\d\d:\d\d:\d\d chatty-0 \| chatty-out$/m);
    expect(all.stdout).toMatch(/^\d\d:\d\d:\d\d chatty-0 ! chatty-err$/m);
    const errOnly = await polis(["logs", "chatty", "--no-follow", "--stderr"]);
    expect(errOnly.stdout.trim().split("\n")).toEqual([expect.stringMatching(/chatty-0 ! chatty-err$/)]);
    const one = await polis(["logs", "demo", "--no-follow", "--replica", "1"]);
    expect(one.stdout).toContain("demo-1 |");
    expect(one.stdout).not.toContain("demo-0 |");
  }, 60_000);

  test("logs follows after the recent lines, shows each line once, and ends with exit 0 on Ctrl-C", async () => {
    const p = spawn(["logs", "demo", "--replica", "0"]);
    let text = "";
    const reader = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of p.stdout) text += decoder.decode(chunk, { stream: true });
    })();
    try {
      await waitFor(() => text.includes("demo-0 | demo-app demo-0 listening"), { what: "the recent lines", timeoutMs: 15_000 });
      const before = text.split("\n").filter((l) => l.includes("listening")).length;
      // A restarted replica writes a new "listening" line: it must arrive through the follow stream.
      expect((await agent.api("/v1/apps/demo/replicas/0/restart", { method: "POST", body: "{}" })).status).toBe(202);
      await waitFor(() => text.split("\n").filter((l) => l.includes("listening")).length === before + 1, { what: "the restarted replica's line", timeoutMs: 20_000 });
      const lines = text.split("\n").filter(Boolean);
      expect(new Set(lines).size).toBe(lines.length);
      p.kill("SIGINT");
      expect(await p.exited).toBe(0);
    } finally {
      p.kill("SIGKILL");
      await reader.catch(() => {});
    }
  }, 60_000);

  test("on a terminal, restart rewrites one live line per step and keeps a line per replaced replica", async () => {
    const n = ((await getJson(agent, "/v1/apps/demo")).replicas as Json[]).length;
    const r = await polis(["restart", "demo"], {}, onTty);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\r\x1b\[2K\[1\/\d\] demo-\d+ starting/);
    expect(r.stdout.split(/\r?\n/).filter((l) => / demo-\d+ replaced$/.test(l)).length).toBe(n);
    expect(r.stdout).toContain(`demo: rolling restart done, ${n} of ${n} replicas replaced`);
  }, 120_000);

  test("logs and events follows stay open while idle, past the server's 10 s idle timeout", async () => {
    // Three keep-alive comments on a raw stream are more than 10 s of silence; the CLI followers started at the same
    // time must still be running then.
    const raw = (path: string) => Bun.spawn(["curl", "-sN", "--max-time", "40", "-H", `Authorization: Bearer ${agent.token}`, "-H", "Accept: text/event-stream", `${agent.url}${path}`], { stdout: "pipe", stderr: "ignore" });
    const streams = [raw("/v1/apps/chatty/logs/follow"), raw("/v1/events?type=nosuch.*")];
    const followers = [spawn(["logs", "chatty"]), spawn(["events", "-f", "--type", "nosuch.*"])];
    const texts = ["", ""];
    const readers = streams.map(async (p, i) => {
      const decoder = new TextDecoder();
      for await (const chunk of p.stdout) texts[i] += decoder.decode(chunk, { stream: true });
    });
    try {
      await waitFor(() => texts.every((t) => t.split(": keep-alive").length - 1 >= 3), { what: "three keep-alives on each stream", timeoutMs: 30_000 });
      expect(streams.map((p) => p.exitCode)).toEqual([null, null]);
      expect(followers.map((p) => p.exitCode)).toEqual([null, null]);
      for (const p of followers) p.kill("SIGINT");
      expect(await Promise.all(followers.map((p) => p.exited))).toEqual([0, 0]);
    } finally {
      for (const p of [...streams, ...followers]) p.kill("SIGKILL");
      await Promise.all(readers.map((r) => r.catch(() => {})));
    }
  }, 60_000);

  test("top --count 2 prints two frames of every replica, then exits", async () => {
    const r = await polis(["top", "--count", "2", "--interval", "500ms"]);
    expect(r.code).toBe(0);
    const frames = r.stdout.split(/^polis top /m).filter(Boolean);
    expect(frames.length).toBe(2);
    for (const f of frames) {
      expect(f).toContain("REPLICA");
      expect(f).toMatch(/\ndemo-\d+\s+\d+\s+ready\s/);
      expect(f).toMatch(/\nchatty-0\s+\d+\s+ready\s/);
    }
  }, 60_000);

  test("on a terminal, top draws on the alternate screen, redraws in place and restores the screen", async () => {
    const r = await polis(["top", "--count", "2", "--interval", "500ms"], {}, onTty);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("\x1b[?1049h");
    expect(r.stdout.split("\x1b[H\x1b[2J").length - 1).toBe(2);
    expect(r.stdout).toContain("q to quit");
    expect(r.stdout).toContain("\x1b[?1049l");
  }, 60_000);

  test("a command that changes something picks the operator token, not the first (read-only) one", async () => {
    const r = await polis(["scale", "demo", "3"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("demo: scaling to 3 replicas");
    await waitFor(async () => (await getJson(agent, "/v1/apps/demo")).ready === 3, { what: "3 ready replicas", timeoutMs: 20_000 });
  }, 60_000);

  test("restart shows each replica as it is replaced, one line per step when not on a terminal", async () => {
    const before = ((await getJson(agent, "/v1/apps/demo")).replicas as Json[]).map((x) => x.id as number);
    const r = await polis(["restart", "demo"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    for (const [i, id] of before.entries()) expect(r.stdout).toMatch(new RegExp(`^\\[${i + 1}/${before.length}\\] demo-${id} replaced$`, "m"));
    expect(r.stdout).toMatch(/^\[1\/\d\] demo-\d+ starting$/m);
    expect(r.stdout).toMatch(/^\[1\/\d\] demo-\d+ ready after \d+ ms \(pid \d+\)$/m);
    expect(r.stdout).not.toContain("\r");
    expect(r.stdout.trim().split("\n").at(-1)).toBe(`demo: rolling restart done, ${before.length} of ${before.length} replicas replaced`);
  }, 120_000);

  test("scale of an autoscaled app says autoscaling is paused and until when; scale APP auto hands it back", async () => {
    const r = await polis(["scale", "auto", "2", "--for", "1.5h"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^auto: scaling to 2 replicas; autoscaling is paused until (\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d \(1h(29|30)m\), then it takes over again\n  to hand control back now: polis scale auto auto\n$/);
    const pausedUntil = Date.parse((await getJson(agent, "/v1/apps/auto")).intent.autoscaling.paused_until);
    expect(Math.round((pausedUntil - Date.now()) / 60_000)).toBe(90);
    const status = await polis(["status"]);
    expect(row(status.stdout, "auto")).toMatch(/^auto\s+\S+\s+\d\s+2\s+paused until /);
    const back = await polis(["scale", "auto", "auto"]);
    expect(back.code).toBe(0);
    expect(back.stdout).toMatch(/^auto: autoscaling is back in control \(now \d replicas?\); it sets the replica count from here on\n$/);
    expect(row((await polis(["status"])).stdout, "auto")).toMatch(/^auto\s+\S+\s+\d\s+\d\s+auto$/);
    const plain = await polis(["scale", "demo", "2"]);
    expect(plain.stdout).toBe("demo: scaling to 2 replicas (it has no autoscaling: the count stays until changed)\n");
  }, 60_000);

  test("stop takes an app to zero and status says stopped; start brings its replicas back", async () => {
    const r = await polis(["stop", "chatty"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("chatty: stopping every replica; it stays stopped (also across agent restarts) until: polis start chatty\n");
    await waitFor(async () => (await getJson(agent, "/v1/apps/chatty")).replicas.length === 0, { what: "chatty without replicas", timeoutMs: 20_000 });
    expect(row((await polis(["status"])).stdout, "chatty")).toMatch(/^chatty\s+stopped\s+0\s+0/);
    expect((await polis(["describe", "chatty"])).stdout).toContain("(had 1; polis start chatty brings them back)");
    const s = await polis(["start", "chatty"]);
    expect(s.code).toBe(0);
    expect(s.stdout).toBe("chatty: starting 1 replica\n");
    await waitFor(async () => (await getJson(agent, "/v1/apps/chatty")).ready === 1, { what: "chatty ready again", timeoutMs: 20_000 });
    expect(row((await polis(["status"])).stdout, "chatty")).toMatch(/^chatty\s+ok\s+1\s+1/);
  }, 60_000);

  test("maint puts an app in maintenance with its reason, shown by status and describe; --off ends it", async () => {
    const r = await polis(["maint", "chatty", "--reason", "disk swap"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("chatty: in maintenance (disk swap); its endpoints get no traffic until: polis maint chatty --off\n");
    expect(row((await polis(["status"])).stdout, "chatty")).toMatch(/^chatty\s+maintenance\s/);
    expect((await polis(["describe", "chatty"])).stdout).toMatch(/^maintenance since \S+( \S+)?: disk swap \(polis maint chatty --off ends it\)$/m);
    const off = await polis(["maint", "chatty", "--off"]);
    expect(off.code).toBe(0);
    expect(row((await polis(["status"])).stdout, "chatty")).toMatch(/^chatty\s+ok\s/);
    const both = await polis(["maint", "chatty", "--off", "--reason", "x"]);
    expect(both.code).toBe(2);
  }, 60_000);

  test("reload needs the admin role, prints what changed, and prints every problem of a bad file (exit 1, nothing changed)", async () => {
    const denied = await polis(["reload"]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain("polis reload needs a token with the admin role");
    const original = await Bun.file(configPath).text();
    const admin = ["--token", agent.token];
    try {
      await Bun.write(configPath, `${original}services:\n  - {name: extra, endpoints: [{id: extra-1, address: 127.0.0.1, port: 9}]}\n`);
      const ok = await polis(["reload", ...admin]);
      expect(ok.stderr).toBe("");
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/^config reloaded; changed: .*services/);
      await Bun.write(configPath, `${original}services:\n  - {name: extra, endpoints: [{id: extra-1, address: 127.0.0.1, port: 99999}]}\n`);
      const bad = await polis(["reload", ...admin]);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toBe("");
      expect(bad.stderr).toMatch(/  - services\[0\]\.endpoints\[0\]\.port: .*99999.* at line \d+, column \d+/);
      expect(((await getJson(agent, "/v1/services/default/extra")).endpoints as Json[]).map((e) => e.port)).toEqual([9]);
    } finally {
      await Bun.write(configPath, original);
    }
  }, 60_000);

  test("describe names the app's settings that come from the config overlay (PATCH /v1/config)", async () => {
    const res = await agent.api("/v1/config", { method: "PATCH", body: JSON.stringify({ apps: [{ name: "chatty", stop: { timeout: "3s" } }] }) });
    expect(res.status).toBe(200);
    const r = await polis(["describe", "chatty"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^overlay    .*stop.*\(set through the API: PATCH \/v1\/config\)$/m);
    expect((await polis(["describe", "demo"])).stdout).not.toContain("overlay ");
  }, 60_000);

  test("drain stops new traffic to an endpoint in every balancer that has it; an unknown endpoint is exit 1", async () => {
    const id = `demo-${((await getJson(agent, "/v1/apps/demo")).replicas as Json[])[0]!.id}`;
    const r = await polis(["drain", id]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`web: ${id} drained`);
    const ep = ((await getJson(agent, "/v1/balancers/web")).endpoints as Json[]).find((e) => e.id === id);
    expect(ep?.draining).toBe(true);
    const missing = await polis(["drain", "nosuch-0"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no balancer has an endpoint nosuch-0 (endpoints: ");
  }, 60_000);

  test("adopted replicas show their uptime since the process started, not since the adoption", async () => {
    // Replicas at least 3 s old, then the procs worker dies and its successor adopts them.
    await waitFor(async () => ((await getJson(agent, "/v1/apps/demo")).replicas as Json[]).every((r) => r.uptimeMs >= 3000), { what: "demo replicas 3 s old", timeoutMs: 20_000 });
    const before = ((await getJson(agent, "/v1/apps/demo")).replicas as Json[]).map((r) => r.pid);
    expect((await agent.api("/v1/agent/workers/procs/crash", { method: "POST" })).status).toBe(202);
    await waitFor(async () => {
      const rs = (await getJson(agent, "/v1/apps/demo")).replicas as Json[];
      return rs.length === before.length && rs.every((r) => r.adopted && r.state === "ready" && before.includes(r.pid));
    }, { what: "the replicas adopted", timeoutMs: 30_000 });
    const r = await polis(["apps"]);
    expect(r.code).toBe(0);
    const rows = r.stdout.split("\n").filter((l) => l.startsWith("demo "));
    expect(rows.length).toBe(before.length);
    for (const l of rows) {
      const [, , pid, , , , , uptime, adopted] = l.split(/\s+/);
      expect(before).toContain(Number(pid));
      expect(adopted).toBe("yes");
      const m = /^(?:(\d+)m)?(\d+)s$/.exec(uptime!);
      expect(m).not.toBeNull();
      expect(Number(m![1] ?? 0) * 60 + Number(m![2])).toBeGreaterThanOrEqual(3);
    }
  }, 90_000);
});

test("a config whose tokens are all read-only: a restart says which role it needs, exits 1 and calls nothing", async () => {
  const dir = mkdtempSync(join(tmpdir(), "polis-cli-role-"));
  try {
    const file = join(dir, "agent.yaml");
    await Bun.write(file, `agent: {data_dir: ${join(dir, "data")}}\napi:\n  listen: 127.0.0.1:${await freePort()}\n  tokens: [{name: viewer, token: ${READ}, role: read}]\n`);
    const p = Bun.spawnSync([requireBinary(), "restart", "demo", "--config", file], { cwd: dir, env: { PATH: process.env.PATH ?? "" }, timeout: 20_000 });
    expect(p.exitCode).toBe(1);
    expect(p.stderr.toString()).toContain(`polis restart needs a token with the operator role, but ${file} has only viewer (read); pass one with --token TOKEN or POLIS_API_TOKEN`);
    expect(p.stderr.toString()).not.toContain("cannot reach");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
