// What the main thread hands the metrics module: per-second aggregates that workers computed.

export type StatusClass = "1xx" | "2xx" | "3xx" | "4xx" | "5xx";
export const STATUS_CLASSES: readonly StatusClass[] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
export type HealthStatus = "passing" | "warning" | "critical";
export const HEALTH_STATUSES: readonly HealthStatus[] = ["passing", "warning", "critical"];

/** One second (or so) of one endpoint's traffic as a balancer worker aggregated it. Counts are deltas. */
export interface ProxyStats {
  readonly balancer: string;
  readonly endpoint: string;
  readonly protocol: "http" | "tcp" | "udp";
  readonly requests: number;
  readonly responses: Readonly<Record<StatusClass, number>>;
  readonly errors: number;
  readonly retries: number;
  readonly ejections: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Current open connections (a gauge, not a delta): the caller sums it over workers. */
  readonly active: number;
  /** Picker choices; defaults to requests + retries. */
  readonly picks?: number;
  /** The listener clients reached (semantic conventions' server.address / server.port); fixed per balancer. */
  readonly listen?: { readonly address: string; readonly port: number };
  /** What clients spoke to the listener: http or https (url.scheme); TCP and UDP balancers carry network.transport instead. */
  readonly scheme?: "http" | "https";
  readonly latency: {
    /** Upper bounds in milliseconds, strictly increasing. */
    readonly bounds: readonly number[];
    /** Per bucket (not cumulative), length bounds.length + 1, the last for +Inf. */
    readonly counts: readonly number[];
    /** Milliseconds. */
    readonly sum: number;
    readonly count: number;
  };
}

export interface ProcStats {
  readonly app: string;
  readonly replica: string;
  /** The revision the replica runs (a label of its series; absent: unknown). */
  readonly revision?: number;
  readonly pid: number;
  /** Percent of ONE CPU (as top/ps report it; may exceed 100). */
  readonly cpuPercent: number;
  readonly rssBytes: number;
}
