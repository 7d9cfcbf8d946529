// The admin API over gRPC on the compiled binary: a grpc-js client built from the checked-in protos calls every
// RPC; roles, validation details, NOT_FOUND and FAILED_PRECONDITION come through as gRPC statuses with
// google.rpc details; WatchEvents resumes from a sequence number; health and reflection answer; TLS works.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as loader from "@grpc/proto-loader";
import protobuf from "protobufjs";
import descriptor from "protobufjs/ext/descriptor";
import { type RunningAgent, startAgent } from "../support/agent.ts";
import { collect, definition, type Json, polis, unary } from "../support/grpc-client.ts";
import { waitFor } from "../support/wait-for.ts";
import { getJson, startDemoAgent } from "./api-support.ts";

const ADMIN = "admin-token-for-the-grpc-test-0123";
const OPS = "operator-token-for-grpc-0123456789";
const READ = "read-token-for-grpc-0123456789abc";

/** The part of grpc/reflection/v1/reflection.proto this client uses (numbers as in the published file). */
const REFLECTION_CLIENT_PROTO = `
syntax = "proto3";
package grpc.reflection.v1;
service ServerReflection { rpc ServerReflectionInfo(stream ServerReflectionRequest) returns (stream ServerReflectionResponse); }
message ServerReflectionRequest { string host = 1; oneof message_request { string file_by_filename = 3; string file_containing_symbol = 4; string list_services = 7; } }
message ServerReflectionResponse {
  string valid_host = 1;
  ServerReflectionRequest original_request = 2;
  oneof message_response { FileDescriptorResponse file_descriptor_response = 4; ListServiceResponse list_services_response = 6; ErrorResponse error_response = 7; }
}
message FileDescriptorResponse { repeated bytes file_descriptor_proto = 1; }
message ListServiceResponse { repeated ServiceResponse service = 1; }
message ServiceResponse { string name = 1; }
message ErrorResponse { int32 error_code = 1; string error_message = 2; }
`;

/** Every RPC of the checked-in protos: [service, method, streaming]. */
const rpcs: Array<[string, string, boolean]> = Object.entries(definition)
  .filter(([k, v]) => k.startsWith("polis.v1.") && !("format" in v))
  .flatMap(([svc, methods]) => Object.entries(methods as Record<string, { responseStream: boolean; originalName?: string }>).map(([m, d]) => [svc.slice("polis.v1.".length), m, d.responseStream] as [string, string, boolean]));

describe("gRPC admin API on a running agent", () => {
  let agent: RunningAgent;
  let address: string;
  const clients = new Map<string, any>();
  const client = (svc: string) => {
    let c = clients.get(svc);
    if (!c) clients.set(svc, (c = new polis[svc](address, grpc.credentials.createInsecure())));
    return c;
  };

  beforeAll(async () => {
    agent = await startDemoAgent({
      replicas: { min: 1, max: 3 },
      env: { POLIS_API_TOKEN: ADMIN },
      config: {
        api: {
          grpc: { listen: "127.0.0.1:0" },
          tokens: [
            { name: "viewer", token: READ, role: "read" },
            { name: "ops", token: OPS, role: "operator" },
          ],
        },
      },
    });
    const line = await agent.waitForLine((l) => l.msg === "admin gRPC API listening");
    address = String(line.address);
  }, 60_000);
  afterAll(async () => {
    for (const c of clients.values()) c.close();
    await agent?.[Symbol.asyncDispose]();
  }, 60_000);

  test("the protos hold one service per resource and every RPC of them answers: never UNIMPLEMENTED, INTERNAL or UNKNOWN", async () => {
    const services = new Set(rpcs.map(([s]) => s));
    for (const s of ["AgentService", "AppsService", "BalancersService", "ChecksService", "ConfigService", "EventsService", "ScalingService", "ServicesService"]) expect(services).toContain(s);
    expect(rpcs.length).toBeGreaterThan(40);
    const answered: string[] = [];
    for (const [svc, method, streaming] of rpcs) {
      // An empty request: reads answer, writes that need fields say which field is missing.
      const r = streaming ? await collect(client(svc), method, { limit: 1, since: 0 }, ADMIN, { stopAfter: 1 }) : await unary(client(svc), method, {}, ADMIN);
      const code = r.error?.code ?? grpc.status.OK;
      answered.push(`${svc}/${method} ${code}${r.error ? ` ${r.error.details}` : ""}`);
    }
    const allowed = new Set([grpc.status.OK, grpc.status.INVALID_ARGUMENT, grpc.status.NOT_FOUND, grpc.status.FAILED_PRECONDITION]);
    const bad = answered.filter((a) => !allowed.has(Number(a.split(" ")[1])));
    expect(bad).toEqual([]);
    expect(answered.some((a) => a.startsWith("AppsService/ScaleApp 3"))).toBe(true);
    expect(answered.some((a) => a.startsWith("EventsService/WatchEvents 0"))).toBe(true);
  }, 60_000);

  test("GetApp answers what GET /v1/apps/{name} answers: the same handler behind both transports", async () => {
    const rest = await getJson(agent, "/v1/apps/demo");
    const { ok } = await unary(client("AppsService"), "GetApp", { name: "demo" }, READ);
    expect(ok).toMatchObject({ name: "demo", desired: rest.desired, min: rest.min, max: rest.max, state: rest.state });
    expect(ok!.replicas.map((r: Json) => [r.id, r.port, r.pid])).toEqual(rest.replicas.map((r: Json) => [r.id, r.port, r.pid]));
  });

  test("a call without a token is UNAUTHENTICATED; a read token on a write RPC is PERMISSION_DENIED naming the role", async () => {
    const none = await unary(client("AppsService"), "ListApps", {}, undefined);
    expect(none.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(none.error?.status?.errorInfo).toMatchObject({ domain: "polis", reason: "unauthorized" });
    const bad = await unary(client("AppsService"), "ListApps", {}, "not-a-token-at-all-000000");
    expect(bad.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    const denied = await unary(client("AppsService"), "ScaleApp", { name: "demo", replicas: 2 }, READ);
    expect(denied.error?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(denied.error?.status?.errorInfo?.metadata).toMatchObject({ needed: "operator", role: "read" });
    const configAsOps = await unary(client("ConfigService"), "PatchConfig", { body: { fields: {} } }, OPS);
    expect(configAsOps.error?.code).toBe(grpc.status.PERMISSION_DENIED);
    // Contrast: the same read token may read.
    expect((await unary(client("AppsService"), "ListApps", {}, READ)).ok?.apps?.length).toBeGreaterThan(0);
  });

  test("invalid input is INVALID_ARGUMENT with a google.rpc.BadRequest naming every field", async () => {
    const neg = await unary(client("AppsService"), "ScaleApp", { name: "demo", replicas: -1 }, OPS);
    expect(neg.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(neg.error?.status?.badRequest?.field_violations).toEqual([{ field: "replicas", description: expect.stringContaining("(got -1)") }]);
    const svc = await unary(client("ServicesService"), "PutService", { namespace: "default", name: "bad", endpoints: [{ address: "", port: 70000 }] }, OPS);
    expect(svc.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(svc.error?.status?.badRequest?.field_violations?.map((v) => v.field).sort()).toEqual(["endpoints.0.address", "endpoints.0.port"]);
    const missing = await unary(client("AppsService"), "GetApp", {}, READ);
    expect(missing.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(missing.error?.status?.badRequest?.field_violations?.[0]?.field).toBe("name");
    const range = await unary(client("AppsService"), "ScaleApp", { name: "demo", replicas: 9 }, OPS);
    expect(range.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(range.error?.status?.errorInfo).toMatchObject({ reason: "out_of_range", metadata: { min: "1", max: "3" } });
  });

  test("an unknown resource is NOT_FOUND and a request against the current state is FAILED_PRECONDITION", async () => {
    const nf = await unary(client("AppsService"), "GetApp", { name: "nope" }, READ);
    expect(nf.error?.code).toBe(grpc.status.NOT_FOUND);
    expect(nf.error?.details).toContain("nope");
    const pre = await unary(client("AppsService"), "ScaleApp", { name: "demo", auto: true }, OPS);
    expect(pre.error?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(pre.error?.status?.errorInfo?.reason).toBe("not_autoscaled");
  });

  test("writes over gRPC are the REST API's writes: a service registered and an app scaled show on REST", async () => {
    const put = await unary(client("ServicesService"), "PutService", { namespace: "grpc", name: "one", labels: { tier: "web" }, endpoints: [{ address: "127.0.0.1", port: 7600, weight: 3 }] }, OPS);
    expect(put.ok).toMatchObject({ name: "one", namespace: "grpc", labels: { tier: "web" } });
    const rest = await getJson(agent, "/v1/services/grpc/one");
    expect(rest.endpoints.map((e: Json) => [e.port, e.weight])).toEqual([[7600, 3]]);
    const scaled = await unary(client("AppsService"), "ScaleApp", { name: "demo", replicas: 2 }, OPS);
    expect(scaled.ok).toMatchObject({ app: "demo", replicas: 2 });
    await waitFor(async () => (await getJson(agent, "/v1/apps/demo")).desired === 2, { what: "desired 2 on REST" });
    expect((await unary(client("ServicesService"), "DeleteService", { namespace: "grpc", name: "one" }, OPS)).error).toBeUndefined();
    expect((await unary(client("ServicesService"), "GetService", { namespace: "grpc", name: "one" }, READ)).error?.code).toBe(grpc.status.NOT_FOUND);
  });

  test("WatchEvents resumes after a sequence number with the REST stream's filters, and goes on live", async () => {
    const page = await unary(client("EventsService"), "ListEvents", { limit: 1 }, READ);
    const after = page.ok!.last_seq as number;
    for (const n of ["w1", "w2"]) await unary(client("ServicesService"), "PutService", { namespace: "watch", name: n, endpoints: [] }, OPS);
    const resumed = await collect(client("EventsService"), "WatchEvents", { since: after, target: "watch/w2" }, READ, { stopAfter: 1 });
    expect(resumed.error).toBeUndefined();
    expect(resumed.messages[0]!.event).toMatchObject({ target: "watch/w2", source: expect.any(String) });
    expect(resumed.messages[0]!.event.seq).toBeGreaterThan(after);
    // Live: the stream opened first (resuming from now, so nothing is missed), then the change.
    const last = (await unary(client("EventsService"), "ListEvents", { limit: 1 }, READ)).ok!.last_seq as number;
    const live = collect(client("EventsService"), "WatchEvents", { since: last, target: "watch/w3", limit: 1 }, READ);
    await unary(client("ServicesService"), "PutService", { namespace: "watch", name: "w3", endpoints: [] }, OPS);
    const got = await live;
    expect(got.error).toBeUndefined();
    expect(got.messages.map((m) => m.event.target)).toEqual(["watch/w3"]);
    // Contrast: a filter that matches nothing, with a limit, never sends the events above.
    const none = await collect(client("EventsService"), "WatchEvents", { since: after, target: "watch/nothing" }, READ, { deadlineMs: 1500 });
    expect(none.messages).toEqual([]);
    expect(none.error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
  });

  test("WatchEvents refuses a bad filter with INVALID_ARGUMENT before streaming", async () => {
    const r = await collect(client("EventsService"), "WatchEvents", { type: "Bad Type!" }, READ);
    expect(r.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(r.error?.status?.badRequest?.field_violations?.[0]?.field).toBe("type");
  });

  test("grpc.health.v1 reports SERVING for the agent and each service, NOT_FOUND for an unknown one", async () => {
    const health = loader.loadSync("health.proto", { includeDirs: [join(import.meta.dir, "../../node_modules/grpc-health-check/proto/health/v1")], keepCase: true, enums: String });
    const Health = (grpc.loadPackageDefinition(health) as any).grpc.health.v1.Health;
    const h = new Health(address, grpc.credentials.createInsecure());
    try {
      expect((await unary(h, "Check", { service: "" })).ok).toEqual({ status: "SERVING" });
      expect((await unary(h, "Check", { service: "polis.v1.AppsService" })).ok).toEqual({ status: "SERVING" });
      expect((await unary(h, "Check", { service: "nope.Service" })).error?.code).toBe(grpc.status.NOT_FOUND);
      const w = await collect(h, "Watch", { service: "" }, undefined, { stopAfter: 1 });
      expect(w.messages).toEqual([{ status: "SERVING" }]);
    } finally {
      h.close();
    }
  });

  test("server reflection lists the services and returns file descriptors a client can build the API from", async () => {
    const refl = loader.fromJSON(protobuf.parse(REFLECTION_CLIENT_PROTO, { keepCase: true }).root.toJSON(), { keepCase: true, oneofs: true, defaults: false });
    const Reflection = (grpc.loadPackageDefinition(refl) as any).grpc.reflection.v1.ServerReflection;
    const r = new Reflection(address, grpc.credentials.createInsecure());
    try {
      const ask = (req: Json) =>
        new Promise<Json>((resolve, reject) => {
          const call = r.ServerReflectionInfo();
          call.on("data", (m: Json) => {
            resolve(m);
            call.end();
          });
          call.on("error", reject);
          call.write(req);
        });
      const list = await ask({ list_services: "" });
      const names = list.list_services_response.service.map((s: Json) => s.name);
      expect(names).toEqual(expect.arrayContaining(["polis.v1.AppsService", "polis.v1.EventsService", "grpc.health.v1.Health"]));
      const files = await ask({ file_containing_symbol: "polis.v1.AppsService" });
      const FDP = (descriptor as any).FileDescriptorProto;
      const decoded = files.file_descriptor_response.file_descriptor_proto.map((b: Buffer) => FDP.decode(b));
      expect(decoded.map((f: Json) => f.name)).toEqual(["polis/v1/apps.proto", "google/protobuf/struct.proto"]);
      expect(decoded[0].service[0].method.map((m: Json) => m.name)).toContain("ScaleApp");
      expect((await ask({ file_containing_symbol: "polis.v1.Nope" })).error_response.error_code).toBe(grpc.status.NOT_FOUND);
    } finally {
      r.close();
    }
  });
});

describe("gRPC admin API over TLS", () => {
  test("with api.tls the gRPC listener speaks TLS with the same certificate, and refuses plaintext", async () => {
    const dir = mkdtempSync(join(tmpdir(), "polis-grpc-tls-"));
    try {
      const key = join(dir, "key.pem");
      const cert = join(dir, "cert.pem");
      const gen = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], { stderr: "pipe" });
      expect(gen.exitCode).toBe(0);
      await using agent = await startAgent({
        env: { POLIS_API_TOKEN: ADMIN, NODE_TLS_REJECT_UNAUTHORIZED: "0" },
        config: { api: { tls: { cert_file: cert, key_file: key }, grpc: { listen: "127.0.0.1:0" } } },
      });
      const line = await agent.waitForLine((l) => l.msg === "admin gRPC API listening");
      expect(line.tls).toBe(true);
      const tls = new polis.AgentService(String(line.address), grpc.credentials.createSsl(await Bun.file(cert).bytes().then(Buffer.from)), { "grpc.ssl_target_name_override": "localhost" });
      const plain = new polis.AgentService(String(line.address), grpc.credentials.createInsecure());
      try {
        const viaTls = await unary(tls, "GetAgent", {}, ADMIN);
        expect(viaTls.error).toBeUndefined();
        expect(viaTls.ok?.pid).toBe(agent.proc.pid);
        expect((await unary(plain, "GetAgent", {}, ADMIN, 3000)).error?.code).toBe(grpc.status.UNAVAILABLE);
      } finally {
        tls.close();
        plain.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
