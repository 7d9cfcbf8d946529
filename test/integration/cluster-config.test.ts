// The cluster-wide config on real etcd with two agents (the compiled binary): PUT /v1/cluster/config on A is
// validated whole and written; both agents apply it as they apply their file, B's own receiver of the same name
// wins on B; a bad document, an unknown section or an app the API may not start is refused with its path and
// changes nothing anywhere; `polis cluster apply FILE` writes one, and says plainly what is wrong with bad args.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY, type RunningAgent, requireBinary, startAgent } from "../support/agent.ts";
import { HAVE_ETCD, type RunningEtcd, startEtcd } from "../support/etcd.ts";
import { waitFor } from "../support/wait-for.ts";
import { getJson, type Json } from "./api-support.ts";

const MINE = "http://127.0.0.1:9/b-own-ops";
const SHARED = { alerts: { receivers: [{ name: "ops", url: "http://127.0.0.1:9/shared-ops" }, { name: "pager", url: "http://127.0.0.1:9/pager", headers: { authorization: "Bearer hook-secret-123" } }] } };

describe.skipIf(!HAVE_ETCD)("cluster-wide config through etcd", () => {
  let etcd: RunningEtcd;
  let a: RunningAgent;
  let b: RunningAgent;

  const cluster = (name: string, advertise: string) => ({ etcd: { endpoints: [etcd.url], prefix: "/polis-shared", dial_timeout: "1s" }, node: { name, advertise }, lease_ttl: "3s" });
  const put = (agent: RunningAgent, body: unknown) => agent.api("/v1/cluster/config", { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const receivers = async (agent: RunningAgent) => (((await getJson(agent, "/v1/config")).config as Json).alerts.receivers as Json[]).map((r) => `${r.name}=${r.url}`).sort();
  const cli = (agent: RunningAgent, ...args: string[]) => {
    const r = Bun.spawnSync([BINARY, ...args, "--url", agent.url, "--token", agent.token], { stdout: "pipe", stderr: "pipe" });
    return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
  };

  beforeAll(async () => {
    requireBinary();
    etcd = await startEtcd();
    [a, b] = await Promise.all([
      startAgent({ config: { agent: { name: "cfg-a" }, cluster: cluster("cfg-a", "127.0.0.11") } }),
      startAgent({ config: { agent: { name: "cfg-b" }, cluster: cluster("cfg-b", "127.0.0.12"), alerts: { receivers: [{ name: "ops", url: MINE }] } } }),
    ]);
    await waitFor(async () => (await getJson(b, "/v1/cluster/status")).connected === true || undefined, { timeoutMs: 20_000, what: "B connected" });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a, b].map((x) => x?.[Symbol.asyncDispose]()));
    await etcd?.[Symbol.asyncDispose]();
  }, 60_000);

  test("PUT on A is written once and applied by both agents; B's own receiver of the same name wins on B", async () => {
    expect((await getJson(a, "/v1/cluster/config")).document).toBeNull();
    const r = await put(a, SHARED);
    expect(r.status).toBe(200);
    const { revision } = (await r.json()) as { revision: string };
    await waitFor(async () => ((await receivers(b)).length === 2 ? true : undefined), { timeoutMs: 15_000, what: "the shared receivers on B" });
    expect(await receivers(b)).toEqual([`ops=${MINE}`, "pager=http://127.0.0.1:9/pager"]);
    await waitFor(async () => ((await receivers(a)).length === 2 ? true : undefined), { timeoutMs: 15_000, what: "the shared receivers on A" });
    expect(await receivers(a)).toEqual(["ops=http://127.0.0.1:9/shared-ops", "pager=http://127.0.0.1:9/pager"]);
    const sb = await getJson(b, "/v1/cluster/config");
    expect(sb).toMatchObject({ revision, writtenBy: "cfg-a", shadowed: ["receivers/ops"], ignored: [], last: { revision, applied: true } });
    // Secrets in a receiver are redacted in the view, as in GET /v1/config.
    expect(JSON.stringify(sb)).not.toContain("hook-secret-123");
    expect(b.lines.map((l) => JSON.stringify(l)).join("\n")).not.toContain("hook-secret-123");
  }, 40_000);

  test.each([
    ["a receiver with a bad URL", { alerts: { receivers: [{ name: "bad", url: "ftp://nope" }] } }, 400, "alerts.receivers[0].url"],
    ["a section that is not shared", { balancers: [{ name: "x" }] }, 400, "balancers"],
    ["a node app", { apps: [{ name: "web", command: "/bin/true" }] }, 400, "apps[0].placement.scope"],
    ["a cluster app while A's file does not allow the API to change what runs", { apps: [{ name: "web", command: "/bin/true", placement: { scope: "cluster", replicas: 1 } }] }, 403, "apps[0]"],
  ])("%s is refused with its path, and nothing changes anywhere", async (_what, body, status, path) => {
    const before = (await getJson(b, "/v1/cluster/config")).revision;
    const r = await put(a, body);
    expect(r.status).toBe(status);
    const e = (await r.json()) as { message: string; details?: { problems?: Json[] } };
    expect(e.details?.problems?.map((p) => p.path)).toContain(path);
    expect(e.message).toContain("nothing was written");
    expect((await getJson(a, "/v1/cluster/config")).revision).toBe(before);
    expect((await getJson(b, "/v1/cluster/config")).revision).toBe(before);
    expect(await receivers(b)).toEqual([`ops=${MINE}`, "pager=http://127.0.0.1:9/pager"]);
  }, 20_000);

  test("polis cluster apply FILE writes it; bad args and a missing file are usage errors that say what is wrong", async () => {
    const file = join(a.dir, "cluster.yaml");
    writeFileSync(file, "alerts:\n  receivers:\n    - name: pager\n      url: http://127.0.0.1:9/pager-2\n");
    const ok = cli(a, "cluster", "apply", file);
    expect(ok.err).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/written at etcd revision \d+ \(apps: none; receivers: pager\)/);
    await waitFor(async () => ((await receivers(b)).includes("pager=http://127.0.0.1:9/pager-2") ? true : undefined), { timeoutMs: 15_000, what: "the applied file on B" });
    // The whole document is replaced: the shared ops receiver is gone, B's own stays.
    expect(await receivers(b)).toEqual([`ops=${MINE}`, "pager=http://127.0.0.1:9/pager-2"]);
    const shown = cli(b, "cluster", "config");
    expect(shown.code).toBe(0);
    expect(shown.out).toContain("receivers pager");

    const noFile = cli(a, "cluster", "apply");
    expect(noFile.code).toBe(2);
    expect(noFile.err).toContain("cluster apply needs the FILE");
    const missing = cli(a, "cluster", "apply", join(a.dir, "nope.yaml"));
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("cannot read");
    expect(missing.err).toContain("ENOENT");
    writeFileSync(join(a.dir, "broken.yaml"), "alerts: [\n");
    const broken = cli(a, "cluster", "apply", join(a.dir, "broken.yaml"));
    expect(broken.code).toBe(2);
    expect(broken.err).toContain("is not valid YAML or JSON at line");
    const stray = cli(a, "cluster", "status", file);
    expect(stray.code).toBe(2);
    expect(stray.err).toContain("did you mean polis cluster apply");
    const help = Bun.spawnSync([BINARY, "cluster", "--help"], { stdout: "pipe" }).stdout.toString();
    expect(help).toContain("apply");
  }, 40_000);
});
