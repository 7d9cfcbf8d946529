import { describe, expect, test } from "bun:test";
import { RequestError } from "../../../src/protocol/port.ts";
import type { ProcsHost } from "../../../src/supervisor/hub.ts";
import { createWorkerHost, WORKER_BACKOFF, WORKER_CRASH_LOOP, type WorkerInfo } from "../../../src/supervisor/worker-host.ts";
import type { FixtureIn, FixtureOut, FixtureRequests } from "../../fixtures/host-worker-fixture.ts";
import { waitFor } from "../../support/wait-for.ts";

const FIXTURE = new URL("../../fixtures/host-worker-fixture.ts", import.meta.url).href;

function host(opts: { specifier?: string; readyTimeoutMs?: number; maxRestarts?: number } = {}) {
  const got: Array<{ t: string; state?: unknown }> = [];
  const transitions: Array<[WorkerInfo["state"], string]> = [];
  let n = 0;
  const h = createWorkerHost<FixtureIn, FixtureOut, FixtureRequests>({
    name: "fixture",
    specifier: opts.specifier ?? FIXTURE,
    state: () => ({ generation: ++n }),
    onMessage: (m) => void got.push(m as { t: string; state?: unknown }),
    onStateChange: (info, why) => void transitions.push([info.state, why]),
    restart: { backoff: { ...WORKER_BACKOFF, initialMs: 10, capMs: 50 }, crashLoop: { ...WORKER_CRASH_LOOP, maxRestarts: opts.maxRestarts ?? 10 } },
    ...(opts.readyTimeoutMs !== undefined ? { readyTimeoutMs: opts.readyTimeoutMs } : {}),
  });
  return { h, got, transitions, [Symbol.asyncDispose]: () => h.stop(1000) };
}

describe("worker host", () => {
  test("start resolves once the worker said ready, after it got the full state", async () => {
    await using f = host();
    await f.h.start();
    expect(f.h.info().state).toBe("running");
    await waitFor(() => f.got.find((m) => m.t === "fixture.state"), { what: "state report" });
    expect(f.got[0]).toEqual({ t: "fixture.state", state: { generation: 1 } });
  });

  test("requests are answered; a failed request rejects with its code and the worker keeps running", async () => {
    await using f = host();
    await f.h.start();
    expect(await f.h.request({ t: "echo", value: 42 })).toBe(42);
    const err = (await f.h.request({ t: "fail" }).catch((e: unknown) => e)) as RequestError;
    expect(err).toBeInstanceOf(RequestError);
    expect(err.code).toBe("failed_on_purpose");
    expect(f.h.info().state).toBe("running");
  });

  test("a worker that exits is restarted with a fresh copy of the state, and counted", async () => {
    await using f = host();
    await f.h.start();
    f.h.send({ t: "exit", code: 3 });
    await waitFor(() => f.got.filter((m) => m.t === "fixture.state").length === 2 && f.h.info().state === "running", { what: "restart" });
    expect(f.got.filter((m) => m.t === "fixture.state").map((m) => m.state)).toEqual([{ generation: 1 }, { generation: 2 }]);
    expect(f.h.info().restarts).toBe(1);
    expect(f.h.info().lastError).toContain("code 3");
    expect(f.transitions.map(([s]) => s)).toEqual(["starting", "running", "restarting", "starting", "running"]);
  });

  test("a worker that keeps dying past the crash-loop budget waits for the cooldown instead of restarting (contrast)", async () => {
    await using f = host({ maxRestarts: 1 });
    await f.h.start();
    f.h.send({ t: "exit", code: 3 });
    await waitFor(() => f.got.filter((m) => m.t === "fixture.state").length === 2 && f.h.info().state === "running", { what: "first restart" });
    f.h.send({ t: "exit", code: 3 });
    await waitFor(() => f.h.info().state === "restarting", { what: "second exit" });
    const [, why] = f.transitions.at(-1)!;
    expect(why).toContain("crash loop");
    expect(why).toContain("60 s cooldown");
    expect(f.h.info().restarts).toBe(2);
  });

  test("a request to a stopped worker rejects at once, naming its state", async () => {
    await using f = host();
    const err = (await f.h.request({ t: "echo", value: 1 }).catch((e: unknown) => e)) as RequestError;
    expect(err).toBeInstanceOf(RequestError);
    expect(err.code).toBe("unavailable");
    expect(err.message).toContain("stopped");
  });

  test("stop without start is fine, and stop twice is fine", async () => {
    const f = host();
    await f.h.stop(1000);
    await f.h.start();
    await f.h.stop(1000);
    await f.h.stop(1000);
    expect(f.h.info().state).toBe("stopped");
  });

  test("stop called twice at once waits for the same close (re-entrant)", async () => {
    const f = host();
    await f.h.start();
    const a = f.h.stop(1000);
    const b = f.h.stop(1000);
    expect(a).toBe(b);
    await Promise.all([a, b]);
    expect(f.h.info().state).toBe("stopped");
    expect(f.transitions.filter(([s]) => s === "stopping").length).toBe(1);
  });

  test("a request tag that does not exist, or a wrong body, does not compile; the reply type follows the tag", () => {
    const typed = (h: ProcsHost) => {
      // @ts-expect-error a misspelt tag
      void h.request({ t: "procs.sacle", app: "web", replicas: 2 });
      // @ts-expect-error a body without its replica count
      void h.request({ t: "procs.scale", app: "web" });
      // @ts-expect-error the reply of procs.scale is not a snapshot list
      const wrong: Promise<unknown[]> = h.request({ t: "procs.scale", app: "web", replicas: 2 });
      const right: Promise<{ readonly app: string; readonly replicas: number }> = h.request({ t: "procs.scale", app: "web", replicas: 2 });
      return [wrong, right];
    };
    expect(typeof typed).toBe("function");
  });
});
