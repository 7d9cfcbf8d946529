// `polis upgrade BINARY`: asks the agent running with this config's data dir to start BINARY as its successor, and
// reports how the takeover went (exit 0 once the new agent serves, 1 when it was refused or failed).
import { resolve } from "node:path";
import { formatProblems, loadConfigFile, readDotEnv } from "../config/load.ts";
import { FROM_INCUMBENT_TAGS, type FromIncumbent, type ToIncumbent } from "../protocol/takeover.ts";
import { controlSocketPath, DEFAULT_TAKEOVER_TIMEOUT_MS } from "../supervisor/takeover.ts";
import { connectChannel } from "../supervisor/takeover-channel.ts";

/** Validation, the successor's start and its catch-up, plus the old agent's drain. */
const UPGRADE_TIMEOUT_MS = DEFAULT_TAKEOVER_TIMEOUT_MS + 60_000;

export async function runUpgrade(binary: string, configFile: string): Promise<number> {
  const loaded = loadConfigFile(configFile, readDotEnv(process.cwd(), process.env));
  if (!loaded.ok) {
    process.stderr.write(`polis: invalid config ${loaded.error.source}:\n${formatProblems(loaded.error.problems)}\n`);
    return 1;
  }
  const path = controlSocketPath(resolve(loaded.loaded.config.agent.data_dir));
  const c = await connectChannel<FromIncumbent, ToIncumbent>(path, FROM_INCUMBENT_TAGS, 5000);
  if (!c) {
    process.stderr.write(`polis upgrade: no agent is running with data dir ${loaded.loaded.config.agent.data_dir} (no control socket at ${path})\n`);
    return 1;
  }
  c.send({ t: "upgrade", binary: resolve(binary) });
  const deadline = Date.now() + UPGRADE_TIMEOUT_MS;
  try {
    for (;;) {
      const m = await c.receive(Math.max(1, deadline - Date.now()));
      if (m === "closed") {
        process.stderr.write("polis upgrade: the running agent closed the control socket before the upgrade finished\n");
        return 1;
      }
      switch (m.t) {
        case "upgrade-started":
          process.stdout.write(`started ${binary} as pid ${m.pid}; waiting for it to take over\n`);
          break;
        case "upgrade-done":
          process.stdout.write(`upgraded: pid ${m.pid} serves; the previous agent drains and exits\n`);
          return 0;
        case "upgrade-failed":
          process.stderr.write(`polis upgrade: ${m.reason}\n`);
          return 1;
      }
    }
  } catch (e) {
    process.stderr.write(`polis upgrade: ${(e as Error).message}\n`);
    return 1;
  } finally {
    c.close();
  }
}
