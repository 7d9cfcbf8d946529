// Starts a real single-member etcd (Debian's etcd-server) on 127.0.0.1 with free ports and its own temp data dir;
// stop() keeps the data for start() again (an outage and a return), dispose() stops it and removes the dir.
import type { Subprocess } from "bun";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort as freeLoopbackPort } from "./ports.ts";

export const ETCD = "/usr/bin/etcd";
export const HAVE_ETCD = existsSync(ETCD);

/** etcd's client and peer ports are given on its command line (support/ports.ts). */
export { freePort as freeLoopbackPort } from "./ports.ts";

export interface RunningEtcd {
  readonly url: string;
  readonly dir: string;
  readonly log: () => string;
  start(): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startEtcd(): Promise<RunningEtcd> {
  const dir = mkdtempSync(join(tmpdir(), "polis-etcd-"));
  const client = freeLoopbackPort();
  const peer = freeLoopbackPort();
  const url = `http://127.0.0.1:${client}`;
  let proc: Subprocess<"ignore", "pipe", "pipe"> | undefined;
  let out = "";
  const start = async () => {
    proc = Bun.spawn(
      [ETCD, "--name", "t", "--data-dir", join(dir, "data"), "--listen-client-urls", url, "--advertise-client-urls", url, "--listen-peer-urls", `http://127.0.0.1:${peer}`, "--initial-advertise-peer-urls", `http://127.0.0.1:${peer}`, "--initial-cluster", `t=http://127.0.0.1:${peer}`, "--logger", "zap", "--log-level", "warn"],
      { stdin: "ignore", stdout: "pipe", stderr: "pipe" },
    );
    void (async () => {
      for await (const c of proc!.stderr) out = (out + new TextDecoder().decode(c)).slice(-8000);
    })();
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ok = await fetch(`${url}/v3/maintenance/status`, { method: "POST", body: "{}", signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
      if (ok) return;
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`etcd did not start (exit ${proc.exitCode}):\n${out}`);
      await Bun.sleep(50);
    }
  };
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (!proc || proc.exitCode !== null) return;
    proc.kill(signal);
    const done = await Promise.race([proc.exited.then(() => true), Bun.sleep(10_000).then(() => false)]);
    if (!done) proc.kill("SIGKILL");
    await proc.exited;
  };
  await start();
  return {
    url,
    dir,
    log: () => out,
    start,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface EtcdMember {
  readonly name: string;
  readonly url: string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** A real 3-member (or n-member) etcd cluster on 127.0.0.1, each member with its own data dir under one temp dir. */
export async function startEtcdCluster(n = 3): Promise<{ members: EtcdMember[]; urls: string[]; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "polis-etcd3-"));
  const spec = Array.from({ length: n }, (_, i) => ({ name: `m${i}`, client: freeLoopbackPort(), peer: freeLoopbackPort() }));
  const initial = spec.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(",");
  const token = `polis-test-${spec[0]!.peer}`;
  const procs = spec.map((m) =>
    Bun.spawn(
      [ETCD, "--name", m.name, "--data-dir", join(dir, m.name), "--listen-client-urls", `http://127.0.0.1:${m.client}`, "--advertise-client-urls", `http://127.0.0.1:${m.client}`, "--listen-peer-urls", `http://127.0.0.1:${m.peer}`, "--initial-advertise-peer-urls", `http://127.0.0.1:${m.peer}`, "--initial-cluster", initial, "--initial-cluster-state", "new", "--initial-cluster-token", token, "--logger", "zap", "--log-level", "error"],
      { stdin: "ignore", stdout: "ignore", stderr: "ignore" },
    ),
  );
  const members: EtcdMember[] = spec.map((m, i) => ({
    name: m.name,
    url: `http://127.0.0.1:${m.client}`,
    async stop(signal: NodeJS.Signals = "SIGKILL") {
      const p = procs[i]!;
      if (p.exitCode !== null || p.signalCode !== null) return;
      p.kill(signal);
      await p.exited;
    },
  }));
  const deadline = Date.now() + 30_000;
  for (const m of members) {
    for (;;) {
      const ok = await fetch(`${m.url}/v3/kv/range`, { method: "POST", body: JSON.stringify({ key: "eA==" }), signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline) {
        for (const x of members) await x.stop();
        throw new Error(`etcd member ${m.name} did not start`);
      }
      await Bun.sleep(50);
    }
  }
  return {
    members,
    urls: members.map((m) => m.url),
    async [Symbol.asyncDispose]() {
      for (const m of members) await m.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
