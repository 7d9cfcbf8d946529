import { describe, expect, test } from "bun:test";
import { RequestError } from "../../../src/protocol/port.ts";
import { createWorkerHost, type WorkerInfo } from "../../../src/supervisor/worker-host.ts";
import { waitFor } from "../../support/wait-for.ts";

const FIXTURE = new URL("../../fixtures/host-worker-fixture.ts", import.meta.url).href;

function host(opts: { state?: () => unknown; specifier?: string; readyTimeoutMs?: number } = {}) {
  const got: Array<{ t: string; state?: unknown }> = [];
  const transitions: Array<[WorkerInfo["state"], string]> = [];
  let n = 0;
  const h = createWorkerHost<{ t: string; state?: unknown }, { t: string; [k: string]: unknown }>({
    name: "fixture",
    specifier: opts.specifier ?? FIXTURE,
    state: opts.state ?? (() => ({ generation: ++n })),
    onMessage: (m) => void got.push(m as { t: string; state?: unknown }),
    onStateChange: (info, why) => void transitions.push([info.state, why]),
    backoff: { minMs: 10, maxMs: 50, stableMs: 60_000 },
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
    expect(await f.h.request<number>({ t: "echo", value: 42 })).toBe(42);
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

  test("a request to a stopped worker rejects at once, naming its state", async () => {
    await using f = host();
    const err = (await f.h.request({ t: "echo", value: 1 }).catch((e: unknown) => e)) as Error;
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
});
