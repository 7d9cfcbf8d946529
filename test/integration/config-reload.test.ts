// The running config on the compiled binary: GET redacts secrets; PATCH applies atomically or changes nothing;
// restart-only settings answer 409; SIGHUP re-reads the file, and a bad file is rejected with its field path.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { type RunningAgent, startAgent } from "../support/agent.ts";
import { waitFor } from "../support/wait-for.ts";
import { getJson, type Json, send } from "./api-support.ts";

const ADMIN = "admin-token-for-config-tests-0001";
const READER = "read-token-for-config-tests-00001";
const OTLP_SECRET = "Bearer otlp-secret-value-42";

describe("config API and SIGHUP on a running agent", () => {
  let agent: RunningAgent;
  beforeAll(async () => {
    agent = await startAgent({
      env: { POLIS_API_TOKEN: ADMIN },
      config: {
        api: { tokens: [{ name: "viewer", token: READER, role: "read" }] },
        // An unreachable exporter: it only has to be configured for its headers to be redacted.
        telemetry: { otlp: { endpoint: "http://127.0.0.1:9/v1/metrics", interval: "1h", headers: { authorization: OTLP_SECRET } } },
        checks: [{ name: "from-file", kind: "ttl", ttl: "1h" }],
      },
    });
  }, 30_000);
  afterAll(async () => {
    await agent?.[Symbol.asyncDispose]();
  }, 30_000);

  const config = async () => (await getJson(agent, "/v1/config")).config as Json;
  const checkIds = async () => ((await getJson(agent, "/v1/checks")).checks as Json[]).map((c) => c.id).sort();

  test("GET /v1/config shows the running config with every token and secret header redacted", async () => {
    const res = await agent.api("/v1/config");
    const text = await res.text();
    expect(res.status).toBe(200);
    for (const secret of [ADMIN, READER, OTLP_SECRET]) expect(text).not.toContain(secret);
    const body = JSON.parse(text) as Json;
    expect(body.config.api.tokens.map((t: Json) => t.token)).toEqual(["[redacted]", "[redacted]"]);
    expect(body.config.api.tokens.map((t: Json) => t.name).sort()).toEqual(["env", "viewer"]);
    expect(body.config.telemetry.otlp.headers).toEqual({ authorization: "[redacted]" });
    expect(body.config.checks[0].name).toBe("from-file");
  }, 30_000);

  test("a valid PATCH adding a standalone check applies at once and reports what was reloaded", async () => {
    const r = await send(agent, "PATCH", "/v1/config", { checks: [{ name: "from-file", kind: "ttl", ttl: "1h" }, { name: "patched", kind: "ttl", ttl: "1h" }] });
    expect(r.status).toBe(200);
    expect(r.body.reloaded).toEqual(["checks"]);
    expect(await checkIds()).toContain("patched");
    expect((await config()).checks.map((c: Json) => c.name)).toEqual(["from-file", "patched"]);
  }, 30_000);

  test("a PATCH of the log level reloads the agent section and takes effect", async () => {
    const r = await send(agent, "PATCH", "/v1/config", { agent: { log_level: "debug" } });
    expect(r.status).toBe(200);
    expect(r.body.reloaded).toEqual(["agent"]);
    expect((await config()).agent.log_level).toBe("debug");
    const back = await send(agent, "PATCH", "/v1/config", { agent: { log_level: "info" } });
    expect(back.status).toBe(200);
  }, 30_000);

  test("an invalid PATCH is a 400 naming the field, and GET /v1/config is unchanged", async () => {
    const before = await config();
    const cases: Array<[unknown, string]> = [
      // Named list entries merge by name: "bad" is added after the two checks already there.
      [{ checks: [{ name: "bad", kind: "ttl", ttl: "soon" }] }, "checks[2].ttl"],
      [{ apps: [{ name: "x", comand: "y" }] }, "apps[0].comand"],
      [{ agent: { log_level: 7 } }, "agent.log_level"],
    ];
    for (const [patch, field] of cases) {
      const r = await send(agent, "PATCH", "/v1/config", patch);
      expect(r.status).toBe(400);
      expect(r.body.code).toBe("invalid_config");
      expect(JSON.stringify(r.body.details)).toContain(field);
    }
    expect(await config()).toEqual(before);
  }, 30_000);

  test("a PATCH touching api.listen is a 409 restart_required and changes nothing", async () => {
    const before = await config();
    const r = await send(agent, "PATCH", "/v1/config", { api: { listen: "127.0.0.1:1" }, agent: { log_level: "warn" } });
    expect(r.status).toBe(409);
    expect(r.body.code).toBe("restart_required");
    expect(r.body.message).toContain("api.listen");
    expect(await config()).toEqual(before);
  }, 30_000);

  test("a read token cannot PATCH the config (403)", async () => {
    const r = await send(agent, "PATCH", "/v1/config", { agent: { log_level: "debug" } }, READER);
    expect(r.status).toBe(403);
    expect(r.body.code).toBe("forbidden");
  }, 30_000);

  test("SIGHUP with a valid edited file applies it; with an invalid file it is rejected, logged with the field path, and nothing changes", async () => {
    const file = join(agent.dir, "agent.yaml");
    const original = parse(readFileSync(file, "utf8")) as Json;
    writeFileSync(file, stringify({ ...original, checks: [...original.checks, { name: "from-sighup", kind: "ttl", ttl: "1h" }] }));
    const linesBefore = agent.lines.length;
    agent.proc.kill("SIGHUP");
    await agent.waitForLine((l) => l.msg === "config reloaded" && agent.lines.indexOf(l) >= linesBefore);
    await waitFor(async () => (await checkIds()).includes("from-sighup"), { what: "check from the reloaded file" });
    // What PATCH added lives in the overlay, which every load applies on top of the file.
    expect(await checkIds()).toContain("patched");

    const before = await config();
    const ids = await checkIds();
    writeFileSync(file, stringify({ ...original, checks: [{ name: "broken", kind: "ttl", ttl: "whenever" }] }));
    const mark = agent.lines.length;
    agent.proc.kill("SIGHUP");
    const rejected = await agent.waitForLine((l) => l.msg === "config reload rejected; the running config is unchanged" && l.problems !== undefined && agent.lines.indexOf(l) >= mark);
    expect(JSON.stringify(rejected.problems)).toContain("checks[0].ttl");
    // The event's own log line names the field too, without the rejected value's data.
    expect(agent.lines.slice(mark).some((l) => l.event === "config.rejected" && String(l.msg).includes("checks[0].ttl"))).toBe(true);
    expect(await config()).toEqual(before);
    expect(await checkIds()).toEqual(ids);
    const ev = ((await getJson(agent, "/v1/events?type=config.rejected")).events as Json[]).at(-1);
    expect(ev?.severity).toBe("error");
    expect(agent.proc.exitCode).toBeNull();
  }, 30_000);

  test("SIGHUP with a YAML alias bomb is a rejected reload (a config error), never an unhandled rejection", async () => {
    const file = join(agent.dir, "agent.yaml");
    const original = readFileSync(file, "utf8");
    let bomb = 'x: &a ["x","x","x","x","x","x","x","x","x"]\n';
    for (const [n, p] of [["b", "a"], ["c", "b"], ["d", "c"], ["e", "d"]]) bomb += `${n}: &${n} [${Array(9).fill(`*${p}`).join(",")}]\n`;
    const before = await config();
    writeFileSync(file, original + bomb);
    try {
      const mark = agent.lines.length;
      agent.proc.kill("SIGHUP");
      const rejected = await agent.waitForLine((l) => l.msg === "config reload rejected; the running config is unchanged" && agent.lines.indexOf(l) >= mark);
      expect(JSON.stringify(rejected.problems)).toContain("too many alias expansions");
      expect(agent.lines.slice(mark).some((l) => /unhandled|uncaught/.test(String(l.msg)))).toBe(false);
      expect(await config()).toEqual(before);
    } finally {
      writeFileSync(file, original);
    }
  }, 30_000);

  test("POST /v1/reload re-reads the file as SIGHUP does: what changed, or the config error with its problems", async () => {
    const file = join(agent.dir, "agent.yaml");
    const original = readFileSync(file, "utf8");
    // An earlier test leaves a broken check in the file: start from the file's good checks.
    const doc = parse(original) as Json;
    doc.checks = (doc.checks as Json[]).filter((c) => c.name !== "broken");
    try {
      writeFileSync(file, stringify(doc));
      await send(agent, "POST", "/v1/reload");
      writeFileSync(file, stringify({ ...doc, checks: [...doc.checks, { name: "from-reload", kind: "ttl", ttl: "1h" }] }));
      const ok = await send(agent, "POST", "/v1/reload");
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual({ reloaded: ["checks"] });
      expect(await checkIds()).toContain("from-reload");

      const before = await config();
      writeFileSync(file, stringify({ ...doc, checks: [{ name: "broken", kind: "ttl", ttl: "whenever" }] }));
      const bad = await send(agent, "POST", "/v1/reload");
      expect(bad.status).toBe(400);
      expect(bad.body.code).toBe("invalid_config");
      expect(bad.body.details.problems.map((p: Json) => p.path)).toContain("checks[0].ttl");
      expect(await config()).toEqual(before);

      const reader = await send(agent, "POST", "/v1/reload", undefined, READER);
      expect(reader.status).toBe(403);
    } finally {
      writeFileSync(file, original);
    }
  }, 30_000);
});
