// Auth on every route and bad input on every mutating route of the running agent: 401 without a token, 403 for a read
// token on changes, and a bounded fuzz loop that must only ever get 4xx answers in the {code, message} envelope.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import type { RunningAgent } from "../support/agent.ts";
import { createSeededRng } from "../support/seeded-rng.ts";
import { getJson, type Json, send, startDemoAgent } from "./api-support.ts";

const ADMIN = "admin-token-for-fuzz-tests-000001";
const READER = "read-token-for-fuzz-tests-0000001";
const BODY_LIMIT = 64 * 1024;

interface Route {
  method: string;
  path: string;
  hasBody: boolean;
  role: string;
}

/** Path parameters that exist where the route needs real targets, so validation runs before any lookup. */
const PARAMS: Record<string, string> = { name: "demo", app: "demo", namespace: "fuzz", id: "no-such-id" };
const fill = (path: string) => path.replace(/\{(\w+)\}/g, (_, k: string) => PARAMS[k] ?? "x");

describe("auth, bad input and OpenAPI on a running agent", () => {
  let agent: RunningAgent;
  let routes: Route[];

  beforeAll(async () => {
    agent = await startDemoAgent({
      replicas: { min: 1, max: 3 },
      env: { POLIS_API_TOKEN: ADMIN },
      config: { api: { tokens: [{ name: "viewer", token: READER, role: "read" }], body_limit: `${BODY_LIMIT}B` } },
    });
    const doc = (await (await fetch(`${agent.url}/openapi.json`)).json()) as Json;
    // The probes, /metrics and /openapi.json are in the document too, and need no token: only /v1 is checked here.
    routes = Object.entries(doc.paths as Record<string, Json>).filter(([path]) => path.startsWith("/v1/")).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, hasBody: Boolean((op as Json).requestBody), role: (op as Json)["x-polis-role"] })),
    );
    // Routes served outside defineRoute (streams and the agent module) are checked too.
    routes.push(
      { method: "GET", path: "/v1/events", hasBody: false, role: "read" },
      { method: "GET", path: "/v1/apps/{name}/logs/follow", hasBody: false, role: "read" },
      { method: "GET", path: "/v1/agent", hasBody: false, role: "read" },
      { method: "GET", path: "/v1/agent/system", hasBody: false, role: "read" },
      { method: "POST", path: "/v1/agent/workers/{name}/crash", hasBody: false, role: "operator" },
    );
  }, 60_000);
  afterAll(async () => {
    await agent?.[Symbol.asyncDispose]();
  }, 60_000);

  const expectEnvelope = (body: Json) => {
    expect(typeof body.code).toBe("string");
    expect(typeof body.message).toBe("string");
  };

  test("GET /openapi.json is an OpenAPI 3.1 document listing the resources, with the error envelope", async () => {
    const doc = (await (await fetch(`${agent.url}/openapi.json`)).json()) as Json;
    expect(doc.openapi).toMatch(/^3\.1\./);
    for (const p of ["/v1/apps", "/v1/services", "/v1/checks", "/v1/config", "/v1/balancers", "/v1/scaling", "/v1/services/{namespace}/{name}"]) expect(Object.keys(doc.paths)).toContain(p);
    expect(doc.components.schemas.Error.required).toEqual(expect.arrayContaining(["code", "message"]));
    expect(doc.paths["/v1/services/{namespace}/{name}"].put.requestBody.content["application/json"].schema.properties.endpoints).toBeDefined();
    // The running agent serves exactly the document checked in as docs/openapi.json (generated offline from the same modules).
    expect(doc).toEqual(JSON.parse(readFileSync(new URL("../../docs/openapi.json", import.meta.url), "utf8")));
  }, 60_000);

  test("every /v1 route answers 401 with the envelope when no token is sent", async () => {
    expect(routes.length).toBeGreaterThan(30);
    for (const r of routes) {
      const res = await fetch(`${agent.url}${fill(r.path)}`, { method: r.method });
      expect({ route: `${r.method} ${r.path}`, status: res.status }).toEqual({ route: `${r.method} ${r.path}`, status: 401 });
      expectEnvelope((await res.json()) as Json);
    }
  }, 60_000);

  test("a wrong token is 401 and a read token on every mutating route is 403", async () => {
    expect((await send(agent, "GET", "/v1/apps", undefined, "not-a-valid-token-at-all-000000")).status).toBe(401);
    for (const r of routes.filter((x) => x.method !== "GET" && x.role !== "read")) {
      const res = await send(agent, r.method, fill(r.path), r.hasBody ? {} : undefined, READER);
      expect({ route: `${r.method} ${r.path}`, status: res.status }).toEqual({ route: `${r.method} ${r.path}`, status: 403 });
      expect(res.body.code).toBe("forbidden");
    }
  }, 60_000);

  test("unknown routes are 404, wrong methods 405, oversized bodies 413: all in the envelope", async () => {
    const missing = await send(agent, "GET", "/v1/no-such-resource");
    expect(missing.status).toBe(404);
    expectEnvelope(missing.body);
    const wrong = await send(agent, "DELETE", "/v1/apps");
    expect(wrong.status).toBe(405);
    expectEnvelope(wrong.body);
    const big = await send(agent, "PUT", "/v1/services/fuzz/big", JSON.stringify({ endpoints: [], labels: { x: "y".repeat(BODY_LIMIT * 2) } }));
    expect(big.status).toBe(413);
    expectEnvelope(big.body);
  }, 60_000);

  /** What must not change under bad input: the catalog, the config and the apps' replicas. */
  async function snapshot() {
    const services = ((await getJson(agent, "/v1/services")).services as Json[]).map((s) => ({ s: `${s.namespace}/${s.name}`, src: s.source, e: (s.endpoints as Json[]).map((e) => `${e.id}@${e.port}`).sort() }));
    const config = (await getJson(agent, "/v1/config")).config;
    const apps = ((await getJson(agent, "/v1/apps")).apps as Json[]).map((a) => ({ name: a.name, desired: a.desired, replicas: (a.replicas as Json[]).map((r) => `${r.id}:${r.pid}:${r.port}:${r.restarts}`) }));
    const checks = ((await getJson(agent, "/v1/checks")).checks as Json[]).map((c) => c.id).sort();
    const policy = (await getJson(agent, "/v1/scaling")).apps;
    return { services, config, apps, checks, policy: (policy as Json[]).map((p) => JSON.stringify(p.policy)) };
  }

  test("300 generated bad bodies against every mutating route: only 4xx with the envelope, and nothing changes", async () => {
    const rng = createSeededRng(20_251_124);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)]!;
    const before = await snapshot();
    const bodyRoutes = routes.filter((r) => r.hasBody);
    // POST /v1/events/ticket (read role) ignores bodies and changes nothing; POST /v1/reload re-reads an unchanged
    // file (200, nothing changes) and is tested in config-reload.test.ts; every other body-less change is fuzzed.
    const bare = routes.filter((r) => !r.hasBody && r.method !== "GET" && r.role !== "read" && r.path !== "/v1/reload");
    const doc = (await (await fetch(`${agent.url}/openapi.json`)).json()) as Json;
    const propsOf = (r: Route): Record<string, Json> => doc.paths[r.path]?.[r.method.toLowerCase()]?.requestBody?.content["application/json"].schema.properties ?? {};
    const wrongFor = (schema: Json): unknown => {
      const t = schema.type;
      if (t === "string") return pick([12, true, { a: 1 }, ["s"], null]);
      if (t === "integer" || t === "number") return pick(["12", 1.5e400 === Infinity ? "Infinity" : 0, { n: 1 }, [], -1.5, null, 1e300]);
      if (t === "array") return pick(["list", 3, { 0: "a" }, null]);
      if (t === "object") return pick(["obj", 9, [1, 2], null]);
      if (t === "boolean") return pick(["yes", 1, null]);
      return { __unexpected: [[["x"]]] };
    };
    const deep = (n: number) => {
      let v: unknown = "leaf";
      for (let i = 0; i < n; i++) v = pick([{ a: v }, [v]]);
      return v;
    };
    const generators: Array<[string, (r: Route) => string]> = [
      ["invalid JSON", () => pick(["{", '{"a":', "[1,2", "nul", '{"a" 1}', "\u0000\u0001", "{'single':1}", '{"a":1}}', "\"unterminated"])],
      ["not an object", () => JSON.stringify(pick([1, "text", null, true, [], [1, 2], -0.5]))],
      // Never null: in a merge patch (PATCH /v1/config) a null value means "delete", a valid no-op.
      ["unknown field", () => JSON.stringify({ [`__fuzz_${Math.floor(rng.next() * 1e6)}`]: pick([1, "x", {}, []]) })],
      ["wrong types", (r) => {
        const props = propsOf(r);
        const keys = Object.keys(props);
        if (keys.length === 0) return JSON.stringify({ agent: pick(["x", 1, []]), apps: pick(["x", 1, {}]) });
        return JSON.stringify(Object.fromEntries(keys.map((k) => [k, wrongFor(props[k]!)])));
      }],
      ["huge string", () => JSON.stringify({ __huge: "Z".repeat(Math.floor(BODY_LIMIT * (0.5 + rng.next() * 0.4))) })],
      ["deep nesting", () => JSON.stringify({ __deep: deep(500 + Math.floor(rng.next() * 3000)) })],
      ["oversized", () => JSON.stringify({ __big: "Q".repeat(BODY_LIMIT + 1 + Math.floor(rng.next() * BODY_LIMIT)) })],
      ["empty", () => ""],
    ];
    const seen: string[] = [];
    const deadline = Date.now() + 20_000;
    for (let i = 0; i < 300 && Date.now() < deadline; i++) {
      const useBare = i % 6 === 5 && bare.length > 0;
      const route = useBare ? pick(bare) : pick(bodyRoutes);
      const [kind, gen] = pick(generators);
      const body = gen(route);
      // Body-less routes get a target that does not exist, so the request is refused before it does anything.
      const path = useBare ? route.path.replace(/\{(\w+)\}/g, "no-such-$1") : fill(route.path);
      const res = await fetch(`${agent.url}${path}`, { method: route.method, headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" }, body });
      const text = await res.text();
      let parsed: Json | undefined;
      try {
        parsed = JSON.parse(text);
      } catch {}
      const what = `${route.method} ${path} with ${kind}`;
      seen.push(`${res.status}`);
      expect({ what, status: res.status >= 400 && res.status < 500 }).toEqual({ what, status: true });
      expect({ what, envelope: typeof parsed?.code === "string" && typeof parsed?.message === "string" }).toEqual({ what, envelope: true });
    }
    expect(seen.length).toBeGreaterThanOrEqual(100);
    expect(agent.proc.exitCode).toBeNull();
    expect((await fetch(`${agent.url}/healthz`)).status).toBe(200);
    expect(await snapshot()).toEqual(before);
    expect(agent.lines.some((l) => l.msg === "api handler failed")).toBe(false);
  }, 60_000);
});
