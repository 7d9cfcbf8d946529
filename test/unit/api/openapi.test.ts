// The admin API spec as tools meet it: `redocly lint` clean, shapes that say what the server does, and the checked-in
// docs/openapi.json and docs/api.md regenerated from the route modules (a test fails when they drift).
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { DOC_FILE, offlineSpec, renderAll, SPEC_FILE } from "../../../scripts/docs/api.ts";
import { normalizeSchema, operationId } from "../../../src/api/openapi.ts";

type Json = Record<string, any>;
const ROOT = new URL("../../../", import.meta.url).pathname;
const REDOCLY = `${ROOT}node_modules/@redocly/cli/bin/cli.js`;
const spec = offlineSpec() as Json;
const operations = Object.entries(spec.paths as Record<string, Record<string, Json>>).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));

/** Every schema node in a tree, depth first. */
function* nodes(v: unknown): Generator<Json> {
  if (Array.isArray(v)) for (const x of v) yield* nodes(x);
  else if (v && typeof v === "object") {
    yield v as Json;
    for (const x of Object.values(v)) yield* nodes(x);
  }
}

describe("OpenAPI document", () => {
  test("checked-in docs/openapi.json and docs/api.md match what the routes generate (run npx bun scripts/docs/api.ts)", () => {
    const { spec: specText, doc } = renderAll();
    expect(readFileSync(SPEC_FILE, "utf8")).toBe(specText);
    expect(readFileSync(DOC_FILE, "utf8")).toBe(doc);
  });

  test("redocly lint with the recommended rules reports 0 errors and 0 warnings", () => {
    expect(existsSync(REDOCLY)).toBe(true);
    const run = Bun.spawnSync(["node", REDOCLY, "lint", "--format=json"], {
      cwd: ROOT,
      env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_COLOR: "1" },
      timeout: 60_000,
    });
    const out = run.stdout.toString();
    const report = JSON.parse(out.slice(out.indexOf("{"))) as { totals: { errors: number; warnings: number }; problems: Array<{ ruleId: string; message: string }> };
    expect({ totals: report.totals, problems: report.problems.map((p) => `${p.ruleId}: ${p.message}`) }).toMatchObject({ totals: { errors: 0, warnings: 0 }, problems: [] });
    expect(run.exitCode).toBe(0);
  }, 60_000);

  test("declares a server, and every operation has a unique operationId and a 4xx response", () => {
    expect(spec.servers[0].url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const ids = operations.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { path, method, op } of operations.filter((o) => o.path.startsWith("/v1/"))) {
      expect({ route: `${method} ${path}`, has4xx: Object.keys(op.responses).some((s) => /^4\d\d$/.test(s)) }).toEqual({ route: `${method} ${path}`, has4xx: true });
    }
  });

  test("the probes, /metrics and the document itself are listed and need no token", () => {
    for (const p of ["/healthz", "/readyz", "/metrics", "/openapi.json"]) expect(spec.paths[p]?.get?.security).toEqual([]);
    expect(spec.paths["/metrics"].get.responses["200"].content["text/plain"]).toBeDefined();
    expect(spec.security).toEqual([{ bearer: [] }]);
  });

  test("a request body the server checks strictly is a closed object, and no number may be the string Infinity or NaN", () => {
    const scale = spec.paths["/v1/apps/{name}/scale"].post.requestBody.content["application/json"].schema;
    // {replicas, for?} or {auto: true}: each alternative is closed.
    expect(scale.anyOf).toMatchObject([
      { type: "object", additionalProperties: false, required: ["replicas"] },
      { type: "object", additionalProperties: false, required: ["auto"] },
    ]);
    for (const node of nodes(spec)) {
      expect(node.additionalProperties === true).toBe(false);
      for (const b of (node.anyOf ?? []) as Json[]) expect(b.enum ?? []).not.toContain("Infinity");
    }
  });

  const queryInts: Array<[string, string]> = [
    ["/v1/apps/{name}/logs", "tail"],
    ["/v1/agent/logs", "tail"],
    ["/v1/scaling/{app}/history", "limit"],
    ["/v1/events", "limit"],
    ["/v1/events", "since"],
  ];
  test.each(queryInts)("GET %s ?%s is typed integer", (path, name) => {
    const p = (spec.paths[path].get.parameters as Json[]).find((x) => x.name === name);
    expect(p?.in).toBe("query");
    expect(p?.schema.type).toBe("integer");
  });

  test("the log follow stream is text/event-stream and the event stream offers JSON, SSE and a WebSocket upgrade", () => {
    const follow = spec.paths["/v1/apps/{name}/logs/follow"].get.responses["200"].content;
    expect(Object.keys(follow)).toEqual(["text/event-stream"]);
    expect(follow["text/event-stream"]["x-polis-event-data"].properties.line.type).toBe("string");
    const events = spec.paths["/v1/events"].get.responses;
    expect(Object.keys(events["200"].content).sort()).toEqual(["application/json", "text/event-stream"]);
    expect(events["101"]).toBeDefined();
  });

  test("GET /v1/config documents the config itself, section by section, not an empty schema", () => {
    const schema = spec.paths["/v1/config"].get.responses["200"].content["application/json"].schema;
    expect(Object.keys(schema.properties.config.properties)).toEqual(expect.arrayContaining(["agent", "api", "apps", "balancers", "dns", "telemetry"]));
    expect(schema.properties.config.properties.apps.type).toBe("array");
  });

  test("GET /v1/agent documents the agent and its workers (checked against the schema on every answer)", () => {
    const schema = spec.paths["/v1/agent"].get.responses["200"].content["application/json"].schema;
    expect(schema.properties.workers.items.properties.state.enum).toContain("running");
  });

  test("401 responses document the WWW-Authenticate header", () => {
    expect(spec.components.responses.Unauthorized.headers["WWW-Authenticate"]).toBeDefined();
  });

  test("POST /v1/events/ticket is documented for the read role", () => {
    expect(spec.paths["/v1/events/ticket"].post["x-polis-role"]).toBe("read");
  });
});

describe("schema normalisation", () => {
  const cases: Array<[string, unknown, unknown]> = [
    ["a number with the non-finite strings", { anyOf: [{ type: "number" }, { type: "string", enum: ["Infinity", "-Infinity", "NaN"] }] }, { type: "number" }],
    ["nullable unknown", { anyOf: [{}, { type: "null" }], description: "d" }, { description: "d" }],
    ["a real union (contrast case)", { anyOf: [{ type: "integer" }, { type: "string", enum: ["auto"] }] }, { anyOf: [{ type: "integer" }, { type: "string", enum: ["auto"] }] }],
  ];
  test.each(cases)("%s", (_what, input, output) => expect(normalizeSchema(input)).toEqual(output));

  test("operation ids spell the method and the path", () => {
    expect(operationId("post", "/v1/apps/:name/replicas/:id/restart")).toBe("postAppsByNameReplicasByIdRestart");
    expect(operationId("get", "/v1/health/summary")).toBe("getHealthSummary");
  });
});
