// The part of a decoded app that makes a revision (what a deployment replaces), and the app as a revision runs it.
// Beside the schema rather than in deploy.ts, which the schema imports for the `deploy:` block.
import type { AppConfig } from "./schema.ts";

/**
 * The keys of an app that make a revision: what a replica runs and how it is contained (driver, resource limits and
 * the container settings take effect only at a spawn, so a change of them is rolled out like a new command).
 * `replicas`, `scaling`, ports, restart, stop, logs and balancers do not.
 */
export const REVISION_KEYS = ["command", "args", "cwd", "env", "readiness", "max_memory", "checks", "driver", "resources", "oci"] as const;

/** The revision part of a decoded app. */
export function revisionFieldsOf(app: AppConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of REVISION_KEYS) if (app[k] !== undefined) out[k] = app[k];
  // The default driver is left out, so an app that never named one keeps the hash it had before drivers existed.
  if (out.driver === "exec") delete out.driver;
  return out;
}

/** The app as a revision runs it: its fields over the app's current settings. */
export function withRevision(app: AppConfig, fields: Readonly<Record<string, unknown>>): AppConfig {
  const base: Record<string, unknown> = { ...app };
  for (const k of REVISION_KEYS) delete base[k];
  return { driver: "exec", ...base, ...fields } as AppConfig;
}
