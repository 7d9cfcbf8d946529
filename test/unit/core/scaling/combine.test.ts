// Several metrics: the largest proposal wins, an invalid metric only allows growth.
import { expect, test } from "bun:test";
import { COMBINE_REASON, combineProposals } from "../../../../src/core/scaling/combine.ts";
import type { MetricProposal } from "../../../../src/core/scaling/hpa.ts";

const counts = { ready: 1, missing: 0, unready: 0, invalid: 0 };
const ok = (replicas: number): MetricProposal => ({ ok: true, replicas, usageRatio: 1, current: 1, counts, reason: "ratio" });
const bad: MetricProposal = { ok: false, reason: "no-ready-metrics", counts };

test("the largest proposal wins and names its metric", () => {
  expect(combineProposals(4, [{ metric: "cpu", proposal: ok(3) }, { metric: "rps_per_replica", proposal: ok(7) }])).toMatchObject({ ok: true, replicas: 7, metric: "rps_per_replica" });
});

test("an invalid metric does not block a scale up", () => {
  expect(combineProposals(4, [{ metric: "cpu", proposal: bad }, { metric: "memory", proposal: ok(6) }])).toMatchObject({ ok: true, replicas: 6, invalid: ["cpu"] });
});

test("an invalid metric DOES block a scale down", () => {
  expect(combineProposals(4, [{ metric: "cpu", proposal: bad }, { metric: "memory", proposal: ok(2) }])).toMatchObject({ ok: false, reason: COMBINE_REASON.invalidBlocksScaleDown });
});

test("all metrics invalid gives no proposal", () => {
  expect(combineProposals(4, [{ metric: "cpu", proposal: bad }])).toMatchObject({ ok: false, reason: COMBINE_REASON.allInvalid });
});
