// The data dir taken away under a live agent: deleted (rm -rf), or full (a small tmpfs, when mount is permitted).
import { existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allReady, chaosAgent, crashLines, doubleRunCount, emptyFigures, type Figures, killMarked, type Scenario, startAgent } from "./_harness.ts";

const register = (agent: { api(p: string, i?: RequestInit): Promise<Response> }, name: string) =>
  agent.api(`/v1/services/chaos/${name}`, { method: "PUT", body: JSON.stringify({ endpoints: [{ address: "127.0.0.1", port: 9 }] }) }).then((r) => r.status, () => 0);

export const deletedDataDir: Scenario = {
  name: "deleted-data-dir",
  goal: "rm -rf of the data dir under a live agent is noticed (write refused or /readyz not ready); after SIGKILL and restart: 0 double-run replicas, 0 acknowledged writes lost, 0 crashes",
  judged: ["doubleRun", "stateLost", "crashes"],
  async run() {
    const f: Figures = emptyFigures();
    const { agent, marker } = await chaosAgent({ apps: 2 });
    let restarted: Awaited<ReturnType<typeof startAgent>> | undefined;
    try {
      await allReady(agent, "demo", 2, 60_000);
      const before = await register(agent, "before");
      rmSync(join(agent.dir, "data"), { recursive: true, force: true });
      const after = await register(agent, "after");
      await Bun.sleep(1500);
      const ready = await fetch(`${agent.url}/readyz`).then((r) => r.status, () => 0);
      f.sent = 2;
      agent.proc.kill("SIGKILL");
      await agent.proc.exited;
      restarted = await startAgent({ sameDirAs: agent, readyTimeoutMs: 60_000 });
      await allReady(restarted, "demo", 2, 30_000).catch(() => undefined);
      await Bun.sleep(5000);
      const kept = async (name: string) => (await restarted!.api(`/v1/services/chaos/${name}`)).status === 200;
      f.stateLost = (before === 200 && !(await kept("before")) ? 1 : 0) + (after === 200 && !(await kept("after")) ? 1 : 0);
      f.doubleRun = doubleRunCount(marker, 2);
      f.crashes = crashLines(agent).length + crashLines(restarted).length + (restarted.proc.exitCode !== null ? 1 : 0);
      f.failed = after === 200 && ready === 200 ? 1 : 0;
      f.notes = `write after rm: ${after}; /readyz after rm: ${ready}; ${f.doubleRun} replica(s) beyond 2 after the restart`;
      return f;
    } finally {
      if (restarted) await restarted[Symbol.asyncDispose]();
      await agent[Symbol.asyncDispose]();
      killMarked(marker);
    }
  },
};

/** Fills the file system holding `dir` until a write fails. */
function fill(dir: string): number {
  const fd = openSync(join(dir, "fill"), "w");
  const chunk = Buffer.alloc(64 * 1024, 1);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch {
    return written;
  } finally {
    closeSync(fd);
  }
}

export const diskFull: Scenario = {
  name: "disk-full",
  goal: "a full data dir (8 MiB tmpfs): writes answered 507/503 in the envelope, never 500; no uncaught exception; SIGTERM exits 0; acknowledged writes survive a restart",
  judged: ["failed", "crashes", "stateLost"],
  async run() {
    const f: Figures = emptyFigures();
    const mnt = mkdtempSync(join(tmpdir(), "polis-chaos-full-"));
    const mount = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt]);
    if (mount.exitCode !== 0) {
      rmSync(mnt, { recursive: true, force: true });
      return { ...f, skipped: true, notes: `mount not permitted here (${mount.stderr.toString().trim().slice(0, 80)}): not run` };
    }
    const dataDir = join(mnt, "data");
    mkdirSync(dataDir);
    const { agent } = await chaosAgent({ apps: 1, config: { agent: { data_dir: dataDir } } });
    let restarted: Awaited<ReturnType<typeof startAgent>> | undefined;
    try {
      await allReady(agent, "demo", 1, 60_000);
      const filled = fill(mnt);
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) statuses.push(await register(agent, `full-${i}`));
      f.sent = statuses.length;
      f.failed = statuses.filter((s) => s === 500 || s === 0).length;
      const code = await agent.stop("SIGTERM");
      const shutdownFailed = agent.lines.some((l) => l.msg === "shutdown failed");
      rmSync(join(mnt, "fill"), { force: true });
      restarted = await startAgent({ sameDirAs: agent, config: { agent: { data_dir: dataDir } }, readyTimeoutMs: 60_000 });
      let lost = 0;
      for (let i = 0; i < statuses.length; i++) if (statuses[i] === 200 && (await restarted.api(`/v1/services/chaos/full-${i}`)).status !== 200) lost++;
      f.stateLost = lost;
      f.crashes = crashLines(agent).length + (code !== 0 || shutdownFailed ? 1 : 0);
      const counts = Object.entries(statuses.reduce<Record<number, number>>((m, s) => ((m[s] = (m[s] ?? 0) + 1), m), {})).map(([s, n]) => `${n}x ${s}`).join(", ");
      f.notes = `filled ${(filled / 1024 / 1024).toFixed(1)} MiB; PUT answers ${counts}; SIGTERM exit ${code}${shutdownFailed ? " (shutdown failed logged)" : ""}; ${lost} acknowledged lost`;
      return f;
    } finally {
      if (restarted) await restarted[Symbol.asyncDispose]();
      await agent[Symbol.asyncDispose]().catch(() => {});
      Bun.spawnSync(["umount", "-l", mnt]);
      if (existsSync(mnt)) rmSync(mnt, { recursive: true, force: true });
    }
  },
};
