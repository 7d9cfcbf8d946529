// Process manager and revisions: replicas keep their revision's fields across a reapply, a rollout's launch and
// retire, a reconcile that leaves a rollout's surge slots alone, and scale-down taking other revisions first.
import { describe, expect, test } from "bun:test";
import { waitFor } from "../../support/wait-for.ts";
import { fastSpec, harness, portRange } from "./harness.ts";

const ready = { kind: "stdout" as const, pattern: "^READY" };

describe("process manager revisions", () => {
  test("a reapplied spec of a new revision leaves running replicas on theirs; launch adds one of the new, retire drains and frees a slot", async () => {
    await using h = harness();
    const port = portRange();
    const v1 = fastSpec("web", "server", { replicas: 2, port, readiness: ready, revision: 1, env: { V: "1" } });
    await h.pm.apply([v1]);
    await waitFor(() => h.of("ready").length === 2, { what: "two ready" });
    await h.pm.apply([{ ...v1, revision: 2, env: { V: "2" }, surge: 1 }]);
    expect(h.pm.snapshot()[0]!.replicas.map((r) => r.revision)).toEqual([1, 1]);

    const id = await h.pm.launch("web", { ...v1, revision: 2, env: { V: "2" } });
    expect(id).toBe(2);
    await waitFor(() => h.of("ready").length === 3, { what: "the new replica ready" });
    expect(h.of("starting").find((e) => e.id === 2)?.revision).toBe(2);
    // A reconcile during the rollout keeps its surge slot.
    await h.pm.apply([{ ...v1, revision: 2, env: { V: "2" }, surge: 1 }]);
    expect(h.pm.snapshot()[0]!.replicas).toHaveLength(3);

    expect(await h.pm.retire("web", 0)).toBe(true);
    expect(h.stoppedBefore.map((r) => r.id)).toEqual([0]);
    expect(h.of("stopped").map((e) => [e.id, e.reason])).toEqual([[0, "rollout"]]);
    expect(await h.pm.retire("web", 0)).toBe(false);
    expect(h.pm.snapshot()[0]!.replicas.map((r) => [r.id, r.revision])).toEqual([[1, 1], [2, 2]]);

    // Without the surge a reconcile trims to the count, replicas of another revision first.
    await h.pm.apply([{ ...v1, replicas: 1, revision: 2, env: { V: "2" } }]);
    expect(h.pm.snapshot()[0]!.replicas.map((r) => [r.id, r.revision])).toEqual([[2, 2]]);
  });
});
