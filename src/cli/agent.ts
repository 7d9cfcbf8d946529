// `polis agent`: load the config (every problem at once, exit 1), start the supervisor, handle signals.
import { formatProblems, loadConfigFile, readDotEnv } from "../config/load.ts";
import { createSupervisor } from "../supervisor/supervisor.ts";
import { createLogger } from "../telemetry/logger.ts";

export interface AgentOptions {
  readonly config: string;
}

export async function runAgent(opts: AgentOptions): Promise<number | undefined> {
  const file = opts.config;
  const env = readDotEnv(process.cwd(), process.env);
  const result = loadConfigFile(file, env);
  if (!result.ok) {
    process.stderr.write(`polis: invalid config ${result.error.source} (${result.error.problems.length} problem${result.error.problems.length === 1 ? "" : "s"}):\n${formatProblems(result.error.problems)}\n`);
    return 1;
  }
  const config = result.loaded.config;
  const logger = createLogger({ level: config.agent.log_level });
  const sup = createSupervisor({ config, raw: result.loaded.raw, configPath: result.loaded.source, logger, env });

  // The supervisor must outlive a bug in one handler: a stray rejection or exception is logged loudly, and the
  // agent keeps supervising (its workers and replicas are independent of the failed call).
  process.on("unhandledRejection", (reason) => logger.error("unhandled rejection", { error: reason }));
  process.on("uncaughtException", (err) => logger.error("uncaught exception", { error: err }));

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
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
    await sup.stop().catch(() => {});
    return 1;
  }
  logger.info("agent ready", { api: sup.apiUrl, workers: sup.workers().map((w) => w.name) });
  return undefined;
}
