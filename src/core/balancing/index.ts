// Registry of balancing policies: algorithm name (as written in config) -> picker factory.
import type { Clock, Rng } from "../time.ts";
import { type ConsistentHashOptions, createConsistentHash } from "./consistent-hash.ts";
import { createIpHash, type IpHashOptions } from "./ip-hash.ts";
import { createLeastConnections } from "./least-connections.ts";
import { createLeastRequest } from "./least-request.ts";
import { createMaglev, type MaglevOptions } from "./maglev.ts";
import { createPeakEwma } from "./peak-ewma.ts";
import type { Picker } from "./picker.ts";
import { createRandom } from "./random.ts";
import { createRoundRobin } from "./round-robin.ts";
import { createWeightedRoundRobin } from "./weighted-round-robin.ts";

export const ALGORITHMS = [
  "round_robin",
  "weighted_round_robin",
  "least_connections",
  "least_request",
  "random",
  "ip_hash",
  "consistent_hash",
  "maglev",
  "peak_ewma",
] as const;

export type Algorithm = (typeof ALGORITHMS)[number];

/** Policies whose pick depends on `ctx.hash` (the data plane must compute a key for them). */
export const KEYED_ALGORITHMS: readonly Algorithm[] = ["ip_hash", "consistent_hash", "maglev"];

/** Everything any policy may read; each factory takes the fields it knows and ignores the rest. */
export interface PickerOptions extends ConsistentHashOptions, MaglevOptions, IpHashOptions {
  rng: Rng;
  clock: Clock;
  /** least_request: candidates per pick. */
  choices?: number;
  /** peak_ewma tuning. */
  decayMs?: number;
  defaultRttMs?: number;
  failurePenaltyMs?: number;
}

const FACTORIES: Record<Algorithm, (opts: PickerOptions) => Picker> = {
  round_robin: createRoundRobin,
  weighted_round_robin: createWeightedRoundRobin,
  least_connections: createLeastConnections,
  least_request: createLeastRequest,
  random: createRandom,
  ip_hash: createIpHash,
  consistent_hash: createConsistentHash,
  maglev: createMaglev,
  peak_ewma: createPeakEwma,
};

export function isAlgorithm(name: string): name is Algorithm {
  return Object.hasOwn(FACTORIES, name);
}

/** A fresh picker for `name`; throws RangeError on an unknown name or invalid option (config time). */
export function createPicker(name: string, opts: PickerOptions): Picker {
  if (!isAlgorithm(name)) throw new RangeError(`unknown balancing algorithm "${name}"; known: ${ALGORITHMS.join(", ")}`);
  return FACTORIES[name](opts);
}

export type { PickContext, Picker, PoolEndpoint } from "./picker.ts";
