// Health status of a check (Consul's three states) and small helpers over it.

export type Status = "passing" | "warning" | "critical";

export const STATUSES: readonly Status[] = ["passing", "warning", "critical"];

const RANK: Record<Status, number> = { passing: 0, warning: 1, critical: 2 };

export function isStatus(value: unknown): value is Status {
  return value === "passing" || value === "warning" || value === "critical";
}

/** Passing or warning: the endpoint still takes traffic (a warning only lowers its weight). */
export function isHealthy(status: Status): boolean {
  return status !== "critical";
}

/** The worse of two statuses (critical > warning > passing). */
export function worst(a: Status, b: Status): Status {
  return RANK[a] >= RANK[b] ? a : b;
}

/** Negative when a is better than b, 0 when equal, positive when worse. */
export function compareStatus(a: Status, b: Status): number {
  return RANK[a] - RANK[b];
}
