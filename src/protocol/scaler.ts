// Messages between the supervisor and the scaler worker. Policy, sample and decision shapes are declared with the
// scaler (src/core/scaling, src/scaler) and re-exported here: this file is the one list of what crosses.
import type { InitMessage } from "./common.ts";
import type { Decision, MetricForecast } from "../core/scaling/decide.ts";
import type { ScalePolicy } from "../core/scaling/policy.ts";
import type { MetricSample, ReplicaInfo } from "../scaler/scaler.ts";
import type { SimulationPoint } from "../scaler/simulate.ts";

export type { Decision, MetricForecast, MetricSample, ReplicaInfo, ScalePolicy, SimulationPoint };

export interface ScalerInit {
  readonly intervalMs: number;
  readonly policies: ReadonlyArray<{ readonly app: string; readonly policy: ScalePolicy }>;
}

/** Supervisor -> scaler, one-way. */
export type ToScaler =
  | InitMessage<ScalerInit>
  | { readonly t: "scaler.policies"; readonly intervalMs: number; readonly policies: ReadonlyArray<{ readonly app: string; readonly policy: ScalePolicy }> }
  | { readonly t: "scaler.replicas"; readonly app: string; readonly current: number; readonly replicas: readonly ReplicaInfo[] }
  | { readonly t: "scaler.samples"; readonly samples: readonly MetricSample[] };

/** Supervisor -> scaler requests and their replies. */
export type ScalerRequests = {
  readonly "scaler.forecast": { readonly body: { readonly app: string }; readonly reply: MetricForecast[] };
  /** Replays a policy over given points without touching any app (what-if). */
  readonly "scaler.simulate": { readonly body: { readonly policy: ScalePolicy; readonly points: readonly SimulationPoint[]; readonly initialReplicas?: number }; readonly reply: Decision[] };
};

/** Scaler -> supervisor: every decision that acts, and the latest of each app once per evaluation. */
export type FromScaler =
  | { readonly t: "scaler.decision"; readonly decision: Decision }
  | { readonly t: "scaler.latest"; readonly decisions: readonly Decision[] };
