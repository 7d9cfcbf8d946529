// How client commands find the agent: --url / POLIS_API_URL, else the config's api.listen; the token from
// POLIS_API_TOKEN, else the local admin token in the config's data dir.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient, type PolisClient } from "../client/client.ts";
import { loadConfigFile, readDotEnv } from "../config/load.ts";
import { flag } from "./run.ts";

export function connect(args: readonly string[]): PolisClient {
  const env = readDotEnv(process.cwd(), process.env);
  let url = flag(args, "--url") ?? env.POLIS_API_URL;
  let token = flag(args, "--token") ?? env.POLIS_API_TOKEN;
  const configPath = flag(args, "--config") ?? (existsSync("config/agent.yaml") ? "config/agent.yaml" : undefined);
  if ((!url || !token) && configPath) {
    const r = loadConfigFile(configPath, env);
    if (r.ok) {
      const c = r.loaded.config;
      const scheme = c.api.tls ? "https" : "http";
      url ??= `${scheme}://${c.api.listen.replace(/^0\.0\.0\.0:/, "127.0.0.1:")}`;
      const file = join(c.agent.data_dir, "admin.token");
      if (!token && existsSync(file)) token = readFileSync(file, "utf8").trim();
      if (!token && c.api.tokens[0]) token = c.api.tokens[0].token;
    }
  }
  return createClient({ url: url ?? "http://127.0.0.1:9090", ...(token ? { token } : {}) });
}
