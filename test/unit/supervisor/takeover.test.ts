// The takeover exchange over a real Unix socket, with a recording stand-in for the supervisor's handover: release,
// ready and retire; resume on every way a successor can go away; refusals; garbage on the socket.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TO_INCUMBENT_TAGS } from "../../../src/protocol/takeover.ts";
import { completeTakeover, controlSocketPath, type Handover, type Incumbent, requestTakeover, serveTakeovers } from "../../../src/supervisor/takeover.ts";
import { connectChannel, listenChannel } from "../../../src/supervisor/takeover-channel.ts";
import { createLogger } from "../../../src/telemetry/logger.ts";
import { waitFor } from "../../support/wait-for.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function fakeHandover(over: Partial<Handover> = {}) {
  const calls: string[] = [];
  let passing: Record<string, number> = { web: 2 };
  const handover: Handover = {
    release: async () => {
      calls.push("release");
      return { desired: { demo: 3 }, passing: { web: 2 } };
    },
    resume: async () => void calls.push("resume"),
    passing: () => passing,
    listenFailures: () => [],
    seedDesired: (d) => void calls.push(`seed ${JSON.stringify(d)}`),
    startBalancers: async () => void calls.push("startBalancers"),
    ...over,
  };
  return { handover, calls, setPassing: (p: Record<string, number>) => (passing = p) };
}

async function incumbent(handover: Handover) {
  const dir = mkdtempSync(join(tmpdir(), "polis-takeover-"));
  const lines: string[] = [];
  let retired = 0;
  const inc = (await serveTakeovers({
    path: controlSocketPath(dir),
    handover,
    log: createLogger({ level: "debug", write: (l) => lines.push(l) }),
    version: "test",
    configPath: join(dir, "agent.yaml"),
    commandOf: (b) => [b],
    retire: () => void retired++,
  })) as Incumbent;
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => inc.close());
  return { inc, dir, path: controlSocketPath(dir), lines, retired: () => retired };
}

describe("takeover exchange", () => {
  test("a successor gets the incumbent's desired counts and passing endpoints; ready makes the incumbent drain and retire", async () => {
    const f = fakeHandover();
    const i = await incumbent(f.handover);
    const s = await requestTakeover(i.path, { timeoutMs: 5000, version: "next" });
    expect(s?.released).toMatchObject({ t: "released", pid: process.pid, desired: { demo: 3 }, passing: { web: 2 } });
    expect(f.calls).toEqual(["release"]);
    const mine = fakeHandover();
    expect(await completeTakeover(s!, mine.handover, Date.now() + 5000)).toEqual({ ok: true });
    expect(mine.calls).toEqual(["startBalancers"]);
    expect(i.retired()).toBe(1);
    expect(f.calls).toEqual(["release"]);
  });

  test("the incumbent takes everything back when the successor's connection closes before it said ready", async () => {
    const f = fakeHandover();
    const i = await incumbent(f.handover);
    const raw = await connectChannel<{ t: string }, unknown>(i.path, new Set(["released"]), 2000);
    raw!.send({ t: "takeover", pid: 1, version: "x", timeoutMs: 5000 });
    expect(await raw!.receive(5000)).toMatchObject({ t: "released" });
    raw!.close();
    await waitFor(() => f.calls.includes("resume"), { what: "resume" });
    expect(i.retired()).toBe(0);
    // Serving again: the next takeover is accepted.
    expect(await requestTakeover(i.path, { timeoutMs: 5000, version: "next" })).toBeDefined();
  });

  test("abort from the successor resumes the incumbent and logs the successor's reason", async () => {
    const f = fakeHandover();
    const i = await incumbent(f.handover);
    const s = await requestTakeover(i.path, { timeoutMs: 5000, version: "next" });
    s!.abort("cannot listen for balancer(s) web");
    await waitFor(() => f.calls.includes("resume"), { what: "resume" });
    expect(i.lines.some((l) => l.includes("the successor gave up: cannot listen for balancer(s) web"))).toBe(true);
  });

  test("a second takeover while one is in progress is refused with the reason; the first one goes on", async () => {
    const f = fakeHandover();
    const i = await incumbent(f.handover);
    const first = await requestTakeover(i.path, { timeoutMs: 5000, version: "a" });
    await expect(requestTakeover(i.path, { timeoutMs: 5000, version: "b" })).rejects.toThrow("a takeover is already in progress");
    expect(await first!.commit()).toBe("committed");
    expect(i.retired()).toBe(1);
  });

  test("a release that fails resumes at once, and the successor is told so instead of taking over", async () => {
    const f = fakeHandover({
      release: async () => {
        throw new Error("procs worker is restarting");
      },
    });
    const i = await incumbent(f.handover);
    await expect(requestTakeover(i.path, { timeoutMs: 5000, version: "next" })).rejects.toThrow("could not hand over (release failed: procs worker is restarting)");
    expect(f.calls).toEqual(["resume"]);
    expect(i.retired()).toBe(0);
  });

  test("a successor that does not catch up by its deadline gives up with the counts it had, and never says ready", async () => {
    const f = fakeHandover();
    const i = await incumbent(f.handover);
    const s = await requestTakeover(i.path, { timeoutMs: 5000, version: "next" });
    const mine = fakeHandover();
    mine.setPassing({ web: 1 });
    const r = await completeTakeover(s!, mine.handover, Date.now() + 100);
    expect(r).toMatchObject({ ok: false });
    // Its listeners never joined the ports: nothing of the traffic reached a successor that was not caught up.
    expect(mine.calls).toEqual([]);
    expect((r as { reason: string }).reason).toContain('{"web":1} < {"web":2}');
    s!.abort((r as { reason: string }).reason);
    await waitFor(() => f.calls.includes("resume"), { what: "resume" });
    expect(i.retired()).toBe(0);
  });

  test("a listener the successor could not bind fails the takeover before anything is drained", async () => {
    const i = await incumbent(fakeHandover().handover);
    const s = await requestTakeover(i.path, { timeoutMs: 5000, version: "next" });
    const r = await completeTakeover(s!, fakeHandover({ listenFailures: () => ["web"] }).handover, Date.now() + 5000);
    expect(r).toEqual({ ok: false, reason: "cannot listen for balancer(s) web" });
    expect(i.retired()).toBe(0);
    s!.abort(r.ok ? "" : r.reason);
  });

  test("garbage, unknown tags and an endless line on the control socket close that connection only; the incumbent serves on", async () => {
    const f = fakeHandover();
    const i = await incumbent(f.handover);
    for (const junk of ["not json\n", '{"t":"rm -rf"}\n', "[1,2]\n", "x".repeat(70 * 1024)]) {
      let closed = false;
      const sock = await Bun.connect({ unix: i.path, socket: { data() {}, close: () => void (closed = true) } });
      sock.write(junk);
      await waitFor(() => closed, { what: `close after ${junk.slice(0, 12)}` });
    }
    expect(await requestTakeover(i.path, { timeoutMs: 5000, version: "next" })).toBeDefined();
  });

  test("no socket, or a socket file left by a dead agent, means nothing to take over", async () => {
    const dir = mkdtempSync(join(tmpdir(), "polis-takeover-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    expect(await requestTakeover(join(dir, "agent.sock"), { timeoutMs: 1000, version: "x" })).toBeUndefined();
    const stale = join(dir, "stale.sock");
    const l = Bun.listen({ unix: stale, socket: { data() {} } });
    l.stop(true); // leaves the file behind, as a SIGKILLed agent does
    expect(await requestTakeover(stale, { timeoutMs: 1000, version: "x" })).toBeUndefined();
    // ...and a new agent can listen there again.
    const server = await listenChannel(stale, TO_INCUMBENT_TAGS, () => {});
    server.close(true);
  });

  test("the control socket is the owner's only (whoever can connect can make the agent run a binary)", async () => {
    const i = await incumbent(fakeHandover().handover);
    expect(statSync(i.path).mode & 0o777).toBe(0o600);
  });

  test("a retiring agent's close leaves the socket its successor bound at the same path (Bun's stop() would remove it)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "polis-takeover-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, "agent.sock");
    const old = await listenChannel(path, TO_INCUMBENT_TAGS, () => {});
    const next = await listenChannel(path, TO_INCUMBENT_TAGS, () => {}, { replace: true });
    old.close(false);
    expect(existsSync(path)).toBe(true);
    expect(await connectChannel(path, new Set(), 1000)).toBeDefined();
    next.close(true);
    expect(existsSync(path)).toBe(false);
  });

  test("contrast: listening where a running agent answers fails, naming --takeover", async () => {
    const i = await incumbent(fakeHandover().handover);
    await expect(listenChannel(i.path, TO_INCUMBENT_TAGS, () => {})).rejects.toThrow("--takeover");
  });
});
