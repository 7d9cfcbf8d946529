// Two agents (the compiled binary) on an etcd that requires client certificates (`--client-cert-auth`): a CA, the
// server's certificate and the clients' certificates are made here with openssl. With a certificate the CA signed,
// agents register and watch. With a certificate of another CA, or none, the agent keeps running (ready for local
// traffic), says which etcd endpoint refused it, and never writes key material to its log.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningAgent, requireBinary, startAgent } from "../support/agent.ts";
import { ETCD, freeLoopbackPort, HAVE_ETCD } from "../support/etcd.ts";
import { waitFor } from "../support/wait-for.ts";
import { getJson, type Json } from "./api-support.ts";

const OPENSSL = "/usr/bin/openssl";

function run(cmd: string[]) {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "" } });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${r.stderr.toString()}`);
}

/** The base64 body of a PEM block, minus its armour: what would show if key material leaked into a log. */
const pemBody = (file: string) => readFileSync(file, "utf8").split("\n").filter((l) => l && !l.startsWith("-----")).slice(0, 3).join("");

describe.skipIf(!HAVE_ETCD || !existsSync(OPENSSL))("cluster discovery through etcd with client-certificate auth (mTLS)", () => {
  let dir: string;
  let etcd: Subprocess | undefined;
  let url: string;
  const agents: RunningAgent[] = [];
  const p = (f: string) => join(dir, f);

  const cluster = (name: string, address: string, tls: Record<string, string>) => ({
    etcd: { endpoints: [url], prefix: "/polis-mtls", dial_timeout: "2s", tls: { ca_file: p("ca.pem"), ...tls } },
    node: { name, advertise: address },
    lease_ttl: "3s",
  });
  const start = async (name: string, address: string, tls: Record<string, string>, extra: Record<string, unknown> = {}) => {
    const a = await startAgent({ config: { agent: { name }, cluster: cluster(name, address, tls), ...extra } });
    agents.push(a);
    return a;
  };
  /** A key and a certificate for `cn`, signed by the CA in `caPrefix`.pem, for `usage` (serverAuth or clientAuth). */
  const issue = (caPrefix: string, out: string, cn: string, ext: string) => {
    run([OPENSSL, "req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${cn}`, "-keyout", p(`${out}-key.pem`), "-out", p(`${out}.csr`)]);
    writeFileSync(p(`${out}.ext`), ext);
    run([OPENSSL, "x509", "-req", "-in", p(`${out}.csr`), "-CA", p(`${caPrefix}.pem`), "-CAkey", p(`${caPrefix}-key.pem`), "-CAcreateserial", "-days", "1", "-extfile", p(`${out}.ext`), "-out", p(`${out}.pem`)]);
  };

  beforeAll(async () => {
    requireBinary();
    dir = mkdtempSync(join(tmpdir(), "polis-etcd-mtls-"));
    run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=polis test CA", "-keyout", p("ca-key.pem"), "-out", p("ca.pem")]);
    run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=some other CA", "-keyout", p("other-ca-key.pem"), "-out", p("other-ca.pem")]);
    // clientAuth too: etcd 3.4's JSON gateway dials etcd's own gRPC port with the server certificate as its client one.
    issue("ca", "server", "127.0.0.1", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n");
    issue("ca", "client", "polis-agent", "extendedKeyUsage=clientAuth\n");
    issue("other-ca", "stranger", "polis-agent", "extendedKeyUsage=clientAuth\n");
    const client = freeLoopbackPort();
    const peer = freeLoopbackPort();
    url = `https://127.0.0.1:${client}`;
    etcd = Bun.spawn(
      [ETCD, "--name", "m", "--data-dir", p("data"), "--listen-client-urls", url, "--advertise-client-urls", url, "--listen-peer-urls", `http://127.0.0.1:${peer}`, "--initial-advertise-peer-urls", `http://127.0.0.1:${peer}`, "--initial-cluster", `m=http://127.0.0.1:${peer}`, "--cert-file", p("server.pem"), "--key-file", p("server-key.pem"), "--client-cert-auth", "--trusted-ca-file", p("ca.pem"), "--logger", "zap", "--log-level", "error"],
      { stdin: "ignore", stdout: "ignore", stderr: "ignore" },
    );
    // Ready when a request with the client certificate is answered (one without would be refused).
    const tls = { ca: readFileSync(p("ca.pem"), "utf8"), cert: readFileSync(p("client.pem"), "utf8"), key: readFileSync(p("client-key.pem"), "utf8") };
    await waitFor(() => fetch(`${url}/v3/maintenance/status`, { method: "POST", body: "{}", tls, signal: AbortSignal.timeout(1000) } as RequestInit).then((r) => r.ok, () => false), { timeoutMs: 20_000, what: "etcd with client-cert auth to answer" });
  }, 60_000);

  afterAll(async () => {
    for (const a of agents.reverse()) await a[Symbol.asyncDispose]();
    etcd?.kill("SIGKILL");
    await etcd?.exited;
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test("agents with a client certificate the CA signed register and watch: B sees A's service, both alive", async () => {
    const good = { cert_file: p("client.pem"), key_file: p("client-key.pem") };
    await start("mtls-a", "127.0.0.11", good, { services: [{ name: "db", endpoints: [{ address: "127.0.0.11", port: 5432 }] }] });
    const b = await start("mtls-b", "127.0.0.12", good);
    const eps = await waitFor(async () => {
      const s = await getJson(b, "/v1/services/default/db").catch(() => undefined);
      return s?.endpoints?.length === 1 ? (s.endpoints as Json[]) : undefined;
    }, { timeoutMs: 20_000, what: "A's db endpoint on B" });
    expect(eps[0]).toMatchObject({ id: "127.0.0.11:5432@mtls-a", node: "mtls-a", address: "127.0.0.11", port: 5432 });
    // B's view turns fresh once its watch is in place after the first resync; on a busy host that can come after A's endpoint shows.
    const status = await waitFor(async () => {
      const s = await getJson(b, "/v1/cluster/status");
      return s.stale === false && (s.members as Json)?.alive === 2 ? s : undefined;
    }, { timeoutMs: 20_000, what: "B's cluster view fresh with both members alive" });
    expect(status).toMatchObject({ connected: true, stale: false, endpoint: url, members: { alive: 2 } });
  }, 40_000);

  test.each([
    ["a certificate another CA signed", "mtls-c", "127.0.0.13", () => ({ cert_file: p("stranger.pem"), key_file: p("stranger-key.pem") })],
    ["no client certificate", "mtls-d", "127.0.0.14", () => ({})],
  ])("%s: the agent runs on, ready for local traffic, names the endpoint that refused it, logs no key material", async (_what, name, address, tls) => {
    const bad = await start(name, address, tls(), { services: [{ name: "local", endpoints: [{ address, port: 7000 }] }] });
    const s = await waitFor(async () => {
      const x = await getJson(bad, "/v1/cluster/status");
      return typeof x.lastError === "string" ? x : undefined;
    }, { timeoutMs: 20_000, what: "the refusal in /v1/cluster/status" });
    expect(s).toMatchObject({ connected: false, stale: true });
    expect(s.lastError).toContain(url);
    expect(s.lastError).toContain("client certificate");
    expect((await bad.api("/readyz")).status).toBe(200);
    expect((await getJson(bad, "/v1/services/default/local")).endpoints).toHaveLength(1);
    expect(bad.proc.exitCode).toBeNull();
    const log = bad.lines.map((l) => JSON.stringify(l)).join("\n");
    expect(log).toContain(url);
    for (const f of ["client-key.pem", "stranger-key.pem", "ca-key.pem", "client.pem", "stranger.pem"]) expect(log).not.toContain(pemBody(p(f)));
    expect(log).not.toContain("PRIVATE KEY");
    // The refused node never joined.
    const members = (await getJson(agents[1]!, "/v1/cluster/members")).members as Json[];
    expect(members.map((m) => m.name)).not.toContain(name);
  }, 40_000);

  test("the good agents never logged their key either", () => {
    for (const a of agents.slice(0, 2)) {
      const log = a.lines.map((l) => JSON.stringify(l)).join("\n");
      expect(log).not.toContain(pemBody(p("client-key.pem")));
      expect(log).not.toContain("PRIVATE KEY");
    }
  });
});
