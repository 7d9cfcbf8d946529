// The one documented .env file (in the working directory): parsed by the runtime's util.parseEnv, and only
// filling variables that are not already set. The binary is built without Bun's own .env autoloading, which
// would also read .env.local and .env.<NODE_ENV>.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseEnv } from "node:util";

export function readDotEnv(dir: string, env: Record<string, string | undefined>): Record<string, string | undefined> {
  let text: string;
  try {
    text = readFileSync(resolve(dir, ".env"), "utf8");
  } catch {
    return env;
  }
  const out = { ...env };
  for (const [k, v] of Object.entries(parseEnv(text))) if (out[k] === undefined) out[k] = v;
  return out;
}
