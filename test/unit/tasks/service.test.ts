import { describe, expect, test } from "bun:test";
import type { TaskSpec } from "../../../src/core/tasks/types.ts";
import { openStore } from "../../../src/state/store.ts";
import { openTaskStore } from "../../../src/state/task-store.ts";
import { createTaskService } from "../../../src/tasks/service.ts";
import { waitFor } from "../../support/wait-for.ts";

const log = { debug() {}, info() {}, warn() {}, error() {}, log() {}, setLevel() {}, tail: () => [] } as never;
const spec = (over: Partial<TaskSpec> = {}): TaskSpec => ({ name: "t", command: "/bin/sleep", args: ["30"], env: {}, priority: "medium", timeoutMs: 0, retries: { max: 0, backoffMs: 0, maxBackoffMs: 0 }, concurrencyLimit: 1, killTimeoutMs: 20, outputLimit: 1024, ...over });

/** A procs worker that starts nothing real and has lost track of every task: stops do nothing, adoption finds none. */
const setup = () => {
  const store = openStore(":memory:");
  const stops: string[] = [];
  const svc = createTaskService({
    queue: () => ({ max_concurrent: 2, aging: 300_000, keep_finished: 100, output_limit: 1024, max_queued: 100 }) as never,
    definitions: () => [],
    dataDir: () => "/tmp",
    cores: 2,
    store,
    publish: () => {},
    log,
    procs: {
      start: async () => ({ ok: true, pid: 999_999, startTime: 1 }),
      adopt: async (refs) => ({ adopted: [], gone: refs.map((r) => r.id) }),
      stop: (id) => void stops.push(id),
    },
  });
  return { store, svc, stops };
};

describe("task service", () => {
  test("a cancel of a task the procs worker lost track of ends it cancelled, with the reason, on disk", async () => {
    const { store, svc, stops } = setup();
    try {
      await svc.start();
      const t = svc.enqueue(spec());
      await waitFor(() => svc.get(t.id)?.state === "running", { what: "running" });
      expect(svc.cancel(t.id).ok).toBe(true);
      expect(stops).toEqual([t.id]);
      await waitFor(() => svc.get(t.id)?.state === "cancelled", { what: "cancelled" });
      expect(svc.get(t.id)!.reason).toContain("lost track");
      expect(openTaskStore(store).all().find((x) => x.id === t.id)!.state).toBe("cancelled");
    } finally {
      svc.stop();
      store.close();
    }
  });

  test("a timeout of such a task ends it timed_out (retried per its policy), not left running", async () => {
    const { store, svc } = setup();
    try {
      await svc.start();
      const t = svc.enqueue(spec({ timeoutMs: 50, retries: { max: 1, backoffMs: 0, maxBackoffMs: 0 } }));
      await waitFor(() => svc.get(t.id)!.attempts.length === 2 && svc.get(t.id)!.attempts[0]!.outcome === "timed_out", { what: "first attempt timed out" });
      await waitFor(() => svc.get(t.id)?.state === "timed_out", { what: "timed out after its retry" });
      expect(svc.get(t.id)!.reason).toContain("timeout of 50 ms");
    } finally {
      svc.stop();
      store.close();
    }
  });

  test("the record of a task now running reaches the store without another write", async () => {
    const { store, svc } = setup();
    try {
      await svc.start();
      const t = svc.enqueue(spec());
      await waitFor(() => openTaskStore(store).all().find((x) => x.id === t.id)?.state === "running", { what: "running on disk" });
    } finally {
      svc.stop();
      store.close();
    }
  });
});
