// The API's answers as the console reads them (the fields it shows; the OpenAPI document has the rest).
export interface Replica {
  app: string;
  id: number;
  pid: number | null;
  port: number | null;
  state: string;
  restarts: number;
  revision: number;
  cpuPercent: number;
  rssBytes: number;
  uptimeMs: number | null;
  lastExit: { code: number | null; signal: string | null; reason: string; at: number } | null;
}
export interface AppInfo {
  name: string;
  desired: number;
  ready: number;
  min: number;
  max: number;
  state: string;
  crashLoop: boolean;
  intent: { autoscaling: { mode: string; paused_until?: string } };
  revision?: { current: number; target: number };
  replicas: Replica[];
}
export interface AppList {
  apps: AppInfo[];
}
export interface CheckList {
  checks: Array<{ id: string; status: string }>;
}
export interface LbStats {
  active: number;
  ratesPerSecond: { requests: number; errors: number; retries: number; ejections: number };
  latency: { count: number; p50Ms: number; p95Ms: number; p99Ms: number };
}
export interface Endpoint {
  stats?: LbStats;
  id: string;
  address: string;
  port: number;
  weight: number;
  health: string;
  draining: boolean;
  source: string;
  ejected: boolean;
}
export interface Balancer {
  name: string;
  listen: string;
  protocol: string;
  algorithm: string;
  listening: boolean;
  problem?: string;
  stats?: LbStats;
  endpoints: Endpoint[];
}
export interface BalancerList {
  balancers: Balancer[];
}
export interface Alert {
  id: string;
  name: string;
  severity: string;
  state: string;
  startsAt: string;
  occurrences: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  acknowledgedBy?: string;
  silencedBy: string[];
}
export interface AlertList {
  alerts: Alert[];
}
