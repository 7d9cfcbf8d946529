// What a running agent does with a config change, on the compiled binary: dns.ttl applies live (DNS answers carry
// it at once), PATCHes persist in the overlay across SIGHUP and restarts until DELETE /v1/config/overlay, and the
// API may neither flip file-only switches nor revoke its caller's own token.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgent } from "../support/agent.ts";
import { decode, query, udpAsk } from "../unit/discovery/dns-test-client.ts";
import { freePort, getJson, type Json, send } from "./api-support.ts";

const ADMIN = "admin-token-for-live-config-0001";
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const cacheService = { name: "cache", namespace: "infra", endpoints: [{ id: "c1", address: "127.0.0.5", port: 6379, protocol: "tcp" }] };

describe("live config on a running agent", () => {
  test("PATCH dns.ttl changes the TTL of DNS answers at once; SIGHUP keeps it (overlay); DELETE of the overlay restores the file's", async () => {
    const port = await freePort();
    await using agent = await startAgent({ env: { POLIS_API_TOKEN: ADMIN }, config: { dns: { listen: `127.0.0.1:${port}`, ttl: "5s" }, services: [cacheService] } });
    const ttl = async () => (decode(await udpAsk(port, query("cache.infra.polis.", "A"))).answers![0] as { ttl?: number }).ttl;
    expect(await ttl()).toBe(5);

    const patched = await send(agent, "PATCH", "/v1/config", { dns: { ttl: "9s" } });
    expect(patched).toEqual({ status: 200, body: { reloaded: ["dns"], persisted: true } });
    expect(await ttl()).toBe(9);
    const shown = await getJson(agent, "/v1/config");
    expect(shown.config.dns.ttl).toBe(9000);
    expect(shown.overlay.paths).toEqual(["dns.ttl"]);

    const mark = agent.lines.length;
    agent.proc.kill("SIGHUP");
    await agent.waitForLine((l) => l.msg === "config reloaded" && agent.lines.indexOf(l) >= mark);
    expect(await ttl()).toBe(9);

    const dropped = await send(agent, "DELETE", "/v1/config/overlay");
    expect(dropped).toEqual({ status: 200, body: { reloaded: ["dns"], removed: true } });
    expect(await ttl()).toBe(5);
    expect((await getJson(agent, "/v1/config")).overlay.paths).toEqual([]);
    expect((await send(agent, "DELETE", "/v1/config/overlay")).status).toBe(404);
  }, 60_000);

  test("a PATCH survives an agent restart: the overlay under data_dir is applied on top of the file at start", async () => {
    const data = mkdtempSync(join(tmpdir(), "polis-overlay-it-"));
    dirs.push(data);
    const config = { agent: { data_dir: data }, checks: [{ name: "from-file", kind: "ttl", ttl: "1h" }] };
    {
      await using first = await startAgent({ env: { POLIS_API_TOKEN: ADMIN }, config });
      // Named list entries merge by name: the new check is given alone, the file's one stays.
      const r = await send(first, "PATCH", "/v1/config", { checks: [{ name: "from-api", kind: "ttl", ttl: "1h" }] });
      expect(r.status).toBe(200);
    }
    expect(JSON.parse(readFileSync(join(data, "config-overlay.json"), "utf8"))).toEqual({ checks: [{ name: "from-api", kind: "ttl", ttl: "1h" }] });
    await using second = await startAgent({ env: { POLIS_API_TOKEN: ADMIN }, config });
    const ids = ((await getJson(second, "/v1/checks")).checks as Json[]).map((c) => c.id).sort();
    expect(ids).toEqual(["from-api", "from-file"]);
    expect((await getJson(second, "/v1/config")).overlay.paths).toEqual(["checks[1]"]);
  }, 60_000);

  test("the API may not switch on command checks or fault injection (403, file-only), nor revoke its caller's token (403)", async () => {
    await using agent = await startAgent({ env: { POLIS_API_TOKEN: ADMIN } });
    const before = await getJson(agent, "/v1/config");
    const cases: Array<[unknown, string, RegExp]> = [
      [{ api: { allow_api_command_checks: true } }, "api.allow_api_command_checks", /only the config file may change this switch \(it lets the API run programs\)/],
      [{ agent: { allow_fault_injection: true } }, "agent.allow_fault_injection", /only the config file may change this switch/],
      [{ api: { tokens: [] } }, "api.tokens", /removes the caller's own token \(env\)/],
    ];
    for (const [patch, path, message] of cases) {
      const r = await send(agent, "PATCH", "/v1/config", patch);
      expect(r.status).toBe(403);
      expect(r.body.code).toBe("forbidden");
      expect(r.body.details.problems[0].path).toBe(path);
      expect(r.body.details.problems[0].message).toMatch(message);
    }
    expect(await getJson(agent, "/v1/config")).toEqual(before);
    // Still in: the caller's token works.
    expect((await agent.api("/v1/config")).status).toBe(200);
  }, 60_000);

  test("a GET-then-PATCH round trip cannot store the redaction placeholder as a secret: refused whole, naming each path", async () => {
    await using agent = await startAgent({
      env: { POLIS_API_TOKEN: ADMIN },
      config: { alerts: { receivers: [{ name: "hook", url: "http://127.0.0.1:9/h", hmac_secret: "real-secret-value" }] } },
    });
    const shown = await getJson(agent, "/v1/config");
    const receivers = (shown.config as { alerts: { receivers: Array<Record<string, unknown>> } }).alerts.receivers;
    expect(receivers[0]!.hmac_secret).toBe("[redacted]");
    // The operator edits one field of what GET showed and sends the section back, placeholder and all.
    const r = await send(agent, "PATCH", "/v1/config", { dns: { ttl: "7s" }, alerts: { receivers: [{ ...receivers[0], timeout: "3s" }] } });
    expect(r.status).toBe(400);
    expect(r.body.details.problems.map((p: { path: string }) => p.path)).toEqual(["alerts.receivers[0].hmac_secret"]);
    expect(r.body.message).toContain("nothing was changed");
    expect(await getJson(agent, "/v1/config")).toEqual(shown);
    // Contrast: the same edit without the placeholder is applied.
    const { hmac_secret: _, ...rest } = receivers[0]!;
    expect((await send(agent, "PATCH", "/v1/config", { dns: { ttl: "7s" }, alerts: { receivers: [{ ...rest, timeout: "3s" }] } })).status).toBe(200);
  }, 60_000);
});
