// A CI-sized subset of the chaos suite (scripts/chaos, `npm run chaos` runs all of it, longer): each scenario at a
// small scale against the compiled binary, judged on the same figures as the full run.
import { describe, expect, test } from "bun:test";
import type { Figures, Scenario } from "../../scripts/chaos/_harness.ts";
import { takeoverUnderLoad } from "../../scripts/chaos/agent-kill.ts";
import { apiFuzz } from "../../scripts/chaos/api-fuzz.ts";
import { configFuzz } from "../../scripts/chaos/config-fuzz.ts";
import { dnsAbuse } from "../../scripts/chaos/dns-abuse.ts";
import { replicaKillLoop } from "../../scripts/chaos/replica-kill-loop.ts";
import { controlWorkerCrash } from "../../scripts/chaos/worker-crash.ts";
import { requireBinary } from "../support/agent.ts";

/** The judged figures, with the notes beside them so a failure says what happened. */
const judged = (s: Scenario, f: Figures) => ({ ...Object.fromEntries(s.judged.map((k) => [k, f[k]])), notes: f.notes });
const zeros = (s: Scenario) => Object.fromEntries(s.judged.map((k) => [k, 0]));

const CASES: Array<[Scenario, number]> = [
  [takeoverUnderLoad, 0.34],
  [controlWorkerCrash, 0.5],
  [apiFuzz, 0.1],
  [configFuzz, 0.05],
  [replicaKillLoop, 0.34],
  [dnsAbuse, 0.5],
];

describe("chaos, CI-sized", () => {
  for (const [s, scale] of CASES) {
    test(`${s.name}: ${s.goal}`, async () => {
      requireBinary();
      const f = await s.run({ scale, note: () => {} });
      expect(judged(s, f)).toMatchObject(zeros(s));
      expect(f.sent).toBeGreaterThan(0);
    }, 180_000);
  }
});
