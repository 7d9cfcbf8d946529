// `polis agent`: load the config (every problem at once, exit 1), start the supervisor, handle signals.
import { formatProblems, loadConfigFile, readDotEnv } from "../config/load.ts";
import { parseDuration } from "../config/units.ts";
import { createSupervisor } from "../supervisor/supervisor.ts";
import { beginAgent } from "../supervisor/takeover-agent.ts";
import type { Incumbent } from "../supervisor/takeover.ts";
import { createLogger } from "../telemetry/logger.ts";

export interface AgentOptions {
  readonly config: string;
  /** Take over from the agent running on the same data dir (takeover.ts). */
  readonly takeover?: boolean;
  /** A duration such as "30s": how long a takeover may take before everything is handed back. */
  readonly takeoverTimeout?: string;
  /** A state store that is not a database is moved aside and the agent starts with an empty one. */
  readonly recover?: boolean;
}

export async function runAgent(opts: AgentOptions): Promise<number | undefined> {
  const file = opts.config;
  const env = readDotEnv(process.cwd(), process.env);
  const result = loadConfigFile(file, env, { overlay: true });
  if (!result.ok) {
    process.stderr.write(`polis: invalid config ${result.error.source} (${result.error.problems.length} problem${result.error.problems.length === 1 ? "" : "s"}):\n${formatProblems(result.error.problems)}\n`);
    return 1;
  }
  const config = result.loaded.config;
  const logger = createLogger({ level: config.agent.log_level });
  const timeoutFlag = opts.takeoverTimeout;
  let takeover: Awaited<ReturnType<typeof beginAgent>>;
  try {
    let timeoutMs: number | undefined;
    try {
      timeoutMs = timeoutFlag === undefined ? undefined : parseDuration(timeoutFlag);
    } catch {
      throw new Error(`--takeover-timeout: "${timeoutFlag}" is not a duration (write 30s, 2m)`);
    }
    takeover = await beginAgent({ dataDir: config.agent.data_dir, takeover: opts.takeover === true, ...(timeoutMs !== undefined ? { timeoutMs } : {}), log: logger });
  } catch (e) {
    process.stderr.write(`polis: ${(e as Error).message}\n`);
    return 1;
  }
  const sup = createSupervisor({ config, raw: result.loaded.raw, base: result.loaded.base, overlay: result.loaded.overlay?.patch, configPath: result.loaded.source, logger, env, deferBalancers: takeover.successor, recover: opts.recover === true });
  takeover.seed(sup);
  let control: Incumbent | undefined;

  // The supervisor must outlive a bug in one handler: a stray rejection or exception is logged loudly, and the
  // agent keeps supervising (its workers and replicas are independent of the failed call).
  process.on("unhandledRejection", (reason) => logger.error("unhandled rejection", { error: reason }));
  process.on("uncaughtException", (err) => logger.error("uncaught exception", { error: err }));

  let stopping = false;
  // While a successor catches up, the replicas it adopted still belong to the agent it replaces: a signal hands them back.
  let catchingUp = takeover.successor;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    if (catchingUp) {
      logger.info("stopped during the takeover; handing everything back", { signal });
      void takeover.giveBack(sup, `the new agent got ${signal} before it took over`).finally(() => process.exit(1));
      return;
    }
    control?.close();
    logger.info("shutting down", { signal });
    // A hard bound on the whole shutdown: workers get shutdown_timeout, and then some for the store.
    const hard = setTimeout(() => {
      logger.error("shutdown did not finish in time; exiting");
      process.exit(1);
    }, sup.stopBoundMs() + 5000);
    sup.stop().then(
      () => {
        clearTimeout(hard);
        process.exit(0);
      },
      (e) => {
        logger.error("shutdown failed", { error: e });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  // Hitless restart: start this same binary (whatever the file at its path is now) as a successor that takes over.
  process.on("SIGUSR2", () => {
    if (control && !stopping) control.upgrade(process.execPath);
    else logger.warn("SIGUSR2 ignored: no control socket, or shutting down");
  });
  process.on("SIGHUP", () => {
    void sup.reload().then((r) => {
      if (!r.ok) logger.error("config reload rejected; the running config is unchanged", { problems: r.error.problems });
      else logger.info("config reloaded", { file: result.loaded.source, changed: r.reloaded });
    });
  });

  try {
    await sup.start();
  } catch (e) {
    logger.error("agent failed to start", { error: e });
    await takeover.giveBack(sup, `the new agent failed to start: ${(e as Error).message}`);
    return 1;
  }
  try {
    control = await takeover.complete(sup, { configPath: result.loaded.source, retire: () => shutdown("takeover") });
    catchingUp = false;
  } catch (e) {
    process.stderr.write(`polis: ${(e as Error).message}\n`);
    return 1;
  }
  const up = { api: sup.apiUrl, pid: process.pid, workers: sup.workers().map((w) => w.name) };
  const why = sup.notReady();
  // "agent ready" means serving everything configured; until then the log says what is missing (as /readyz does).
  if (why !== undefined) logger.warn("agent up, not ready", { ...up, reason: why });
  sup.whenReady(() => logger.info("agent ready", up));
  return undefined;
}
