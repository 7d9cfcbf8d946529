// Starts the compiled binary on a temporary config and data dir, waits for its ready line, and stops it.
import type { Subprocess } from "bun";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";

export const BINARY = join(import.meta.dir, "../../dist/polis");

export function requireBinary(): string {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run "npm run build" first (npm test does)`);
  return BINARY;
}

export interface RunningAgent {
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  readonly dir: string;
  readonly url: string;
  readonly token: string;
  /** Every log line so far (JSON objects). */
  readonly lines: Array<Record<string, unknown>>;
  api(path: string, init?: RequestInit): Promise<Response>;
  waitForLine(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface StartOptions {
  /** Extra config merged over the test defaults (API and DNS on port 0, data dir in the temp dir). */
  config?: Record<string, unknown>;
  env?: Record<string, string>;
  binary?: string;
  cwd?: string;
  readyTimeoutMs?: number;
  /** Run on the config and data dir of an agent started before (e.g. a successor taking over from it). */
  sameDirAs?: RunningAgent;
  /** Extra arguments after `agent --config FILE` (e.g. --takeover). */
  args?: string[];
}

export async function startAgent(opts: StartOptions = {}): Promise<RunningAgent> {
  const binary = opts.binary ?? requireBinary();
  const dir = opts.sameDirAs?.dir ?? mkdtempSync(join(tmpdir(), "polis-it-"));
  const user = opts.config ?? {};
  const config = {
    ...user,
    agent: { data_dir: join(dir, "data"), balancer_workers: 1, shutdown_timeout: "5s", ...(user.agent as object) },
    api: { listen: "127.0.0.1:0", ...(user.api as object) },
    dns: { listen: "127.0.0.1:0", ...(user.dns as object) },
  };
  const configPath = join(dir, "agent.yaml");
  if (!opts.sameDirAs) writeFileSync(configPath, stringify(config));
  const proc = Bun.spawn([binary, "agent", "--config", configPath, ...(opts.args ?? [])], {
    cwd: opts.cwd ?? dir,
    env: { ...process.env, ...opts.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  let raw = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of stream) {
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        raw += `${line}\n`;
        try {
          lines.push(JSON.parse(line));
        } catch {
          lines.push({ raw: line });
        }
        for (const w of waiters) w();
      }
    }
  };
  void pump(proc.stderr);
  void pump(proc.stdout);

  const waitForLine = (pred: (l: Record<string, unknown>) => boolean, timeoutMs = 15_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const hit = lines.find(pred);
        if (hit) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hit);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for a log line; output so far:\n${raw.slice(-4000)}`));
      }, timeoutMs);
      waiters.add(check);
      check();
      void proc.exited.then(() => {
        if (!waiters.has(check)) return;
        setTimeout(() => {
          if (!waiters.has(check)) return;
          waiters.delete(check);
          clearTimeout(timer);
          reject(new Error(`agent exited (${proc.exitCode}) before the expected line; output:\n${raw.slice(-4000)}`));
        }, 50);
      });
    });

  let ready: Record<string, unknown>;
  try {
    // Up is enough here: a test of a balancer that cannot bind starts an agent that is up but not ready.
    ready = await waitForLine((l) => l.msg === "agent ready" || l.msg === "agent up, not ready", opts.readyTimeoutMs ?? 20_000);
  } catch (e) {
    // SIGTERM first: the agent stops its replicas (they run in their own process groups and would outlive a SIGKILL).
    if (proc.exitCode === null) proc.kill("SIGTERM");
    const killed = await Promise.race([proc.exited.then(() => true), Bun.sleep(15_000).then(() => false)]);
    if (!killed) proc.kill("SIGKILL");
    throw e;
  }
  const url = String(ready.api);
  const tokenFile = join(config.agent.data_dir as string, "admin.token");
  const token = existsSync(tokenFile) ? readFileSync(tokenFile, "utf8").trim() : (opts.env?.POLIS_API_TOKEN ?? "");
  let stopped: Promise<number> | undefined;
  const agent: RunningAgent = {
    proc,
    dir,
    url,
    token,
    lines,
    api: (path, init = {}) =>
      fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...(init.headers as object) } }),
    waitForLine,
    stop(signal = "SIGTERM") {
      if (!stopped) {
        if (proc.exitCode === null) proc.kill(signal);
        const bound = setTimeout(() => proc.kill("SIGKILL"), 20_000);
        stopped = proc.exited.finally(() => clearTimeout(bound));
      }
      return stopped;
    },
    async [Symbol.asyncDispose]() {
      await agent.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return agent;
}
