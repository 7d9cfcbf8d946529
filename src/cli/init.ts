// `polis init`: a commented starter config that validates as written (a test loads it), and writing it safely.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export const STARTER_CONFIG = `# Polis agent config, written by \`polis init\`. Check it with \`polis validate FILE\`; every setting and its
# default is listed in config/examples/full.yaml of the Polis sources and in docs/config.md.
# Durations: 500ms, 10s, 5m. Sizes: 512MiB. Relative paths are relative to the agent's working directory.

agent:
  data_dir: ./data            # sqlite state, replica logs and the local admin token
  log_level: info             # debug | info | warn | error

api:
  listen: 127.0.0.1:9090      # the admin API and the CLI's way in
  # With no tokens, the agent writes a local admin token to <data_dir>/admin.token (mode 0600) and the CLI
  # reads it. For other users or hosts add tokens, each with a role (read | operator | admin):
  # tokens:
  #   - {name: ops, token: "a-long-random-string-of-16-or-more", role: operator}

apps:
  # Each app is a command run as N replicas, each with its own port from the range (in $PORT).
  - name: hello
    command: "@self"          # this program's built-in demo app; use e.g. /usr/bin/node with args [server.js]
    args: [demo-app]
    replicas: {min: 2, max: 4}
    port: {range: [18080, 18179]}
    readiness: {kind: port, timeout: 10s}   # ready when it listens on its port
    stop: {timeout: 5s}                     # SIGTERM, then SIGKILL to its process group
    checks:
      - {name: http, kind: http, path: /healthz, interval: 2s, timeout: 1s}
    # scaling:                              # autoscale between min and max replicas
    #   metrics:
    #     - {name: cpu, target: 60}         # % of one core per replica
    #     - {name: rps_per_replica, target: 500}

balancers:
  # One listener spreading requests over the app's healthy replicas.
  - name: web
    listen: 127.0.0.1:8080
    protocol: http            # http | tcp | udp
    backends: {app: hello}
    algorithm: least_request

dns:
  listen: 127.0.0.1:8600      # hello.polis resolves to the replicas (A and SRV)
`;

export type WriteResult = { ok: true; path: string } | { ok: false; reason: string };

/** Writes `text` to `path` (creating its directory), refusing to replace an existing file unless `force`. */
export function writeNewFile(path: string, text: string, force: boolean): WriteResult {
  if (existsSync(path) && !force) return { ok: false, reason: `${path} already exists; pass --force to replace it` };
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  } catch (e) {
    return { ok: false, reason: `cannot write ${path}: ${(e as Error).message}` };
  }
  return { ok: true, path };
}
