// THE list of worker entry files: the spawner resolves them here and scripts/build.ts embeds them in the binary.

export const WORKER_FILES = {
  procs: "workers/procs.ts",
  health: "workers/health.ts",
  balancer: "workers/balancer.ts",
  scaler: "workers/scaler.ts",
  cluster: "workers/cluster.ts",
} as const;

export type WorkerKind = keyof typeof WORKER_FILES;

/** True inside the compiled executable, where modules live under the embedded /$bunfs/root. */
export const isCompiled = import.meta.url.includes("$bunfs");

/**
 * Where to load a worker from. Under `bun`, relative to this file (works from any directory);
 * in the binary, "./<path>" resolves against the embedded root (checked by an integration test that
 * runs the binary from an empty directory).
 */
export function workerSpecifier(kind: WorkerKind): string {
  const file = WORKER_FILES[kind];
  return isCompiled ? `./${file}` : new URL(`../../${file}`, import.meta.url).href;
}

/**
 * How to run this program again (for apps whose command is "@self", such as the bundled demo app):
 * the binary itself, or under `bun`, bun plus the entry file.
 */
export function selfCommand(): { command: string; args: string[] } {
  if (isCompiled) return { command: process.execPath, args: [] };
  return { command: process.execPath, args: [new URL("../main.ts", import.meta.url).pathname] };
}
