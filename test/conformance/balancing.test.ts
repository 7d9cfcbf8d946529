// Runs the balancing conformance suite for every registered algorithm.
import { ALGORITHMS, KEYED_ALGORITHMS, createPicker } from "../../src/core/balancing/index.ts";
import { createSeededRng } from "../support/seeded-rng.ts";
import { runPickerConformance } from "./balancing.case.ts";

const KEYED = "keyed: one key maps to one endpoint by design";
const UNKEYED = "not keyed: picks do not depend on ctx.hash";

for (const name of ALGORITHMS) {
  const keyed = KEYED_ALGORITHMS.includes(name);
  runPickerConformance({
    name,
    make: (seed, clock) => createPicker(name, { rng: createSeededRng(seed), clock }),
    skip: keyed
      ? { "spreads unkeyed traffic": KEYED }
      : { "keeps a key on its endpoint whatever the pool order": UNKEYED },
  });
}
