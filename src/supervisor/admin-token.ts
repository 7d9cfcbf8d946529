// When no API token is configured, the agent makes one and keeps it in <data_dir>/admin.token (mode 0600),
// so local CLI commands work while nothing on the network can mutate state without it.
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const TOKEN_FILE = "admin.token";

export function ensureAdminToken(dataDir: string): { token: string; file: string; created: boolean } {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, TOKEN_FILE);
  if (existsSync(file)) {
    const token = readFileSync(file, "utf8").trim();
    if (token.length >= 16) return { token, file, created: false };
  }
  // The prefix keeps a token from starting with "-" (1 in 64 base64url ones do), which `--token X` would take for an
  // option, and makes a leaked token recognisable.
  const token = `polis_${randomBytes(24).toString("base64url")}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { token, file, created: true };
}
