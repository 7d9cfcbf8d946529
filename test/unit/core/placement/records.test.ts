// Placement records are read back from etcd: input from the network. A record that does not have the shape the
// views read is refused (and skipped by the reader), never handed on to answer GET /v1/cluster/apps with a 500.
import { describe, expect, test } from "bun:test";
import { decodeStatus } from "../../../../src/core/placement/records.ts";
import type { AppStatusRecord } from "../../../../src/core/placement/records.ts";

const good: AppStatusRecord = {
  app: "web",
  spec: { name: "web", replicas: 3, spread: "zone", constraints: [{ label: "zone", op: "in", values: ["a", "b"] }], maxPerNode: 2, rescheduleDelayMs: 5000, rescheduleMaxDelayMs: 60000, ports: true, cpu: 0, memoryBytes: 0 } as AppStatusRecord["spec"],
  placed: 2,
  unplaceable: [{ app: "web", slot: 2, reason: "no node left", filtered: { constraint: 3 } }],
  pending: 0,
  term: "42",
  at: 1_700_000_000_000,
};

describe("decodeStatus", () => {
  test("a record the leader wrote decodes as it was", () => {
    const d = decodeStatus(JSON.stringify(good), "web");
    expect(d).toEqual({ ok: true, value: good });
  });

  test.each([
    ["a spec without constraints", { ...good, spec: { ...good.spec, constraints: undefined } }],
    ["an empty spec", { ...good, spec: {} }],
    ["a constraint that is not an object", { ...good, spec: { ...good.spec, constraints: [null] } }],
    ["an unplaceable slot without filtered", { ...good, unplaceable: [{ slot: 1, reason: "x" }] }],
    ["a filtered count that is a string", { ...good, unplaceable: [{ slot: 1, reason: "x", filtered: { a: "1" } }] }],
    ["placed as a string", { ...good, placed: "2" }],
    ["an unknown spread", { ...good, spec: { ...good.spec, spread: "rack" } }],
    ["no term", { ...good, term: undefined }],
  ])("%s is refused", (_what, rec) => {
    const d = decodeStatus(JSON.stringify(rec), "web");
    expect(d.ok).toBe(false);
  });
});
