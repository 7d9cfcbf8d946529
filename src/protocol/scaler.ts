// Messages between the supervisor and the scaler worker, and the samples, replica sets and series they carry.
// Policy, decision and forecast shapes come from the pure scaling core (src/core/scaling), below every subsystem.
import type { Decision, MetricForecast } from "../core/scaling/decide.ts";
import type { ReplicaPhase } from "../core/scaling/hpa.ts";
import type { MetricName, ScalePolicy } from "../core/scaling/policy.ts";
import type { InitMessage } from "./common.ts";

export type { Decision, MetricForecast, ScalePolicy };

export interface MetricSample {
  readonly app: string;
  /** Absent: app-level demand rather than one replica's reading. */
  readonly replica?: string;
  readonly metric: string;
  readonly value: number;
  readonly at: number;
}

export interface ReplicaInfo {
  readonly id: string;
  readonly phase: ReplicaPhase;
  /** Requests for utilization metrics, in the unit the cpu / memory samples use. */
  readonly cpuRequest?: number;
  readonly memoryRequest?: number;
}

/** One point of an app-level series to replay: totals per metric at a time. */
export interface SimulationPoint {
  /** Milliseconds, increasing. */
  readonly at: number;
  readonly totals: Readonly<Partial<Record<MetricName, number>>>;
}

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
