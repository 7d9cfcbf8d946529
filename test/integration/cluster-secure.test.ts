// Two agents (the compiled binary) on an etcd that serves TLS only, with a certificate from a CA made here with
// openssl, and etcd auth on (user and password): they register and watch through it. An agent with a wrong
// password keeps running, says plainly that etcd refused it, and never writes the password to its log.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningAgent, requireBinary, startAgent } from "../support/agent.ts";
import { ETCD, freeLoopbackPort, HAVE_ETCD } from "../support/etcd.ts";
import { waitFor } from "../support/wait-for.ts";
import { getJson, type Json } from "./api-support.ts";

const OPENSSL = "/usr/bin/openssl";
const ETCDCTL = "/usr/bin/etcdctl";
const PASSWORD = "s3cret-Pw-4-polis";
const WRONG = "not-the-Pw-77";

function run(cmd: string[], env: Record<string, string> = {}) {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "", ...env } });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

describe.skipIf(!HAVE_ETCD || !existsSync(OPENSSL) || !existsSync(ETCDCTL))("cluster discovery through etcd with TLS and auth", () => {
  let dir: string;
  let etcd: Subprocess | undefined;
  let url: string;
  let a: RunningAgent | undefined;
  let b: RunningAgent | undefined;
  let bad: RunningAgent | undefined;

  const ca = () => join(dir, "ca.pem");
  const cluster = (name: string, address: string, passwordFile: string) => ({
    etcd: { endpoints: [url], prefix: "/polis-secure", dial_timeout: "2s", username: "polis", password_file: passwordFile, tls: { ca_file: ca() } },
    node: { name, advertise: address },
    lease_ttl: "3s",
  });

  beforeAll(async () => {
    requireBinary();
    dir = mkdtempSync(join(tmpdir(), "polis-etcd-tls-"));
    const p = (f: string) => join(dir, f);
    run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=polis test CA", "-keyout", p("ca-key.pem"), "-out", p("ca.pem")]);
    run([OPENSSL, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", p("server-key.pem"), "-out", p("server.csr")]);
    writeFileSync(p("san.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
    run([OPENSSL, "x509", "-req", "-in", p("server.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca-key.pem"), "-CAcreateserial", "-days", "1", "-extfile", p("san.ext"), "-out", p("server.pem")]);
    const client = freeLoopbackPort();
    const peer = freeLoopbackPort();
    url = `https://127.0.0.1:${client}`;
    etcd = Bun.spawn(
      [ETCD, "--name", "s", "--data-dir", p("data"), "--listen-client-urls", url, "--advertise-client-urls", url, "--listen-peer-urls", `http://127.0.0.1:${peer}`, "--initial-advertise-peer-urls", `http://127.0.0.1:${peer}`, "--initial-cluster", `s=http://127.0.0.1:${peer}`, "--cert-file", p("server.pem"), "--key-file", p("server-key.pem"), "--logger", "zap", "--log-level", "error"],
      { stdin: "ignore", stdout: "ignore", stderr: "ignore" },
    );
    const ctl = (...args: string[]) => run([ETCDCTL, "--endpoints", url, "--cacert", ca(), "--dial-timeout", "2s", ...args], { ETCDCTL_API: "3" });
    await waitFor(() => {
      try {
        ctl("endpoint", "health");
        return true;
      } catch {
        return false;
      }
    }, { timeoutMs: 20_000, what: "etcd with TLS to answer" });
    ctl("user", "add", "root:root-pw-1");
    ctl("user", "grant-role", "root", "root");
    ctl("role", "add", "polis");
    ctl("role", "grant-permission", "polis", "--prefix=true", "readwrite", "/polis-secure/");
    ctl("user", "add", `polis:${PASSWORD}`);
    ctl("user", "grant-role", "polis", "polis");
    ctl("auth", "enable");
    writeFileSync(p("password"), `${PASSWORD}\n`, { mode: 0o600 });
    writeFileSync(p("wrong"), `${WRONG}\n`, { mode: 0o600 });
    a = await startAgent({ config: { agent: { name: "sec-a" }, cluster: cluster("sec-a", "127.0.0.11", p("password")), services: [{ name: "db", endpoints: [{ address: "127.0.0.11", port: 5432 }] }] } });
    b = await startAgent({ config: { agent: { name: "sec-b" }, cluster: cluster("sec-b", "127.0.0.12", p("password")) } });
  }, 90_000);

  afterAll(async () => {
    await bad?.[Symbol.asyncDispose]();
    await b?.[Symbol.asyncDispose]();
    await a?.[Symbol.asyncDispose]();
    etcd?.kill("SIGKILL");
    await etcd?.exited;
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test("both agents register and watch over TLS with a password: B sees A's service, both are alive", async () => {
    const eps = await waitFor(async () => {
      const s = await getJson(b!, "/v1/services/default/db").catch(() => undefined);
      return s?.endpoints?.length === 1 ? (s.endpoints as Json[]) : undefined;
    }, { timeoutMs: 20_000, what: "A's db endpoint on B" });
    expect(eps[0]).toMatchObject({ id: expect.stringMatching(/@sec-a$/), node: "sec-a", address: "127.0.0.11", port: 5432 });
    // A watch resync right after start leaves the catalog stale (and A suspect) for a moment: read the settled status.
    const s = await waitFor(async () => {
      const x = await getJson(b!, "/v1/cluster/status");
      return x.stale === false && x.members?.alive === 2 ? x : undefined;
    }, { timeoutMs: 20_000, what: "B's catalog fresh with both nodes alive" });
    expect(s).toMatchObject({ connected: true, stale: false, endpoint: url, members: { alive: 2 } });
  }, 30_000);

  test("a wrong password: the agent runs on (ready for local traffic), reports etcd's refusal with the user, and logs no password", async () => {
    bad = await startAgent({ config: { agent: { name: "sec-c" }, cluster: cluster("sec-c", "127.0.0.13", join(dir, "wrong")) } });
    const s = await waitFor(async () => {
      const x = await getJson(bad!, "/v1/cluster/status");
      return typeof x.lastError === "string" ? x : undefined;
    }, { timeoutMs: 20_000, what: "the refusal in /v1/cluster/status" });
    expect(s).toMatchObject({ connected: false, stale: true });
    expect(s.lastError).toContain("refused user polis");
    expect((await bad!.api("/readyz")).status).toBe(200);
    expect(bad!.proc.exitCode).toBeNull();
    const log = bad!.lines.map((l) => JSON.stringify(l)).join("\n");
    expect(log).toContain("refused user polis");
    for (const secret of [WRONG, PASSWORD]) expect(log).not.toContain(secret);
    // Nor did the good agents write theirs.
    for (const agent of [a!, b!]) expect(agent.lines.map((l) => JSON.stringify(l)).join("\n")).not.toContain(PASSWORD);
    // The refused node never joined.
    const members = (await getJson(b!, "/v1/cluster/members")).members as Json[];
    expect(members.map((m) => m.name).sort()).toEqual(["sec-a", "sec-b"]);
  }, 40_000);
});
