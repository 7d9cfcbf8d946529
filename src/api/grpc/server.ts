// The admin API over gRPC: every RPC is answered by the REST handler of its route (same auth, roles, validation,
// errors), called in process through the Hono app, so there is one implementation behind two transports.
//
//   startGrpcServer() --bound--> serving --stop()--> stopped     (stop is idempotent; streams are cancelled)
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import type { ServiceDefinition } from "@grpc/proto-loader";
import { splitListen } from "../../config/units.ts";
import { buildGrpcPackage, serviceKey } from "./definition.ts";
import { addHealthService, type HealthStatus } from "./health-service.ts";
import { addReflectionService } from "./reflection.ts";
import type { Rpc } from "./rpcs.ts";
import { decodeMessage, encodeMessage } from "./shape.ts";
import { grpcErrorOf } from "./status.ts";

type Json = Record<string, unknown>;

export interface GrpcServerOptions {
  /** The admin API app (what Bun.serve serves): its fetch answers every RPC. */
  readonly fetch: (req: Request) => Response | Promise<Response>;
  /** The OpenAPI document of the routes the app serves. */
  readonly openapi: Record<string, unknown>;
  readonly listen: string;
  readonly tls?: { readonly cert_file: string; readonly key_file: string };
  /** Largest request message accepted (the REST body limit). */
  readonly maxMessageBytes: number;
  /** Serving status for grpc.health.v1 (checked on each Check and every second for Watch). */
  readonly ready: () => boolean;
}

export interface GrpcServer {
  readonly port: number;
  readonly address: string;
  stop(): Promise<void>;
}

const ORIGIN = "http://grpc.invalid";

/** The REST request of one RPC, or a field violation when a path parameter is missing. */
function restRequest(rpc: Rpc, req: Json, headers: Headers, signal: AbortSignal): Request | { missing: string } {
  const json = decodeMessage(rpc.request, req);
  let path = rpc.path;
  for (const p of rpc.pathParams) {
    const v = json[p];
    if (typeof v !== "string" || v === "") return { missing: p };
    path = path.replace(`{${p}}`, encodeURIComponent(v));
  }
  const q = new URLSearchParams();
  for (const p of rpc.queryParams) if (json[p] !== undefined) q.set(p, String(json[p]));
  const qs = q.size > 0 ? `?${q}` : "";
  let body: string | undefined;
  if (rpc.body === "field") body = json.body === undefined ? "" : JSON.stringify(json.body);
  else if (rpc.body === "flat") {
    const b: Json = {};
    for (const [k, v] of Object.entries(json)) if (!rpc.pathParams.includes(k) && !rpc.queryParams.includes(k)) b[k] = v;
    body = JSON.stringify(b);
  }
  if (body !== undefined) headers.set("content-type", "application/json");
  return new Request(`${ORIGIN}${path}${qs}`, { method: rpc.method, headers, signal, ...(body !== undefined ? { body } : {}) });
}

function headersOf(md: grpc.Metadata, accept: string): Headers {
  const h = new Headers({ accept });
  const auth = md.get("authorization")[0];
  if (typeof auth === "string") h.set("authorization", auth);
  return h;
}

async function errorOf(res: Response): Promise<grpc.ServiceError> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const e = grpcErrorOf(res.status, body);
  return Object.assign(new Error(e.details), { code: e.code, details: e.details, metadata: e.metadata });
}

const missingParam = (name: string): grpc.ServiceError => {
  const e = grpcErrorOf(400, { code: "invalid_request", message: `${name}: required field is missing`, details: { problems: [{ field: name, message: "required field is missing" }] } });
  return Object.assign(new Error(e.details), { code: e.code, details: e.details, metadata: e.metadata });
};

function unary(rpc: Rpc, fetch: GrpcServerOptions["fetch"]): grpc.handleUnaryCall<Json, Json> {
  const wrap = rpc.response.fields.length === 1 && (rpc.response.fields[0]!.json === "items" || rpc.response.fields[0]!.json === "value") ? rpc.response.fields[0]!.json : undefined;
  return async function unaryRpc(call, callback) {
    const abort = new AbortController();
    call.on("cancelled", () => abort.abort());
    try {
      const req = restRequest(rpc, call.request, headersOf(call.metadata, "application/json"), abort.signal);
      if (!(req instanceof Request)) return callback(missingParam(req.missing));
      const res = await fetch(req);
      if (res.status >= 300) return callback(await errorOf(res));
      const text = await res.text();
      const json = text === "" ? {} : (JSON.parse(text) as unknown);
      callback(null, encodeMessage(rpc.response, wrap ? { [wrap]: json } : (json as Json)));
    } catch (e) {
      callback(Object.assign(new Error("internal error"), { code: grpc.status.INTERNAL, details: `internal error: ${(e as Error).message}` }));
    }
  };
}

/** One Server-Sent Events frame at a time from a response body; comments (keep-alives) are skipped. */
async function* sseFrames(body: ReadableStream<Uint8Array>): AsyncGenerator<{ event: string; data: string }> {
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of body) {
    buf += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buf.indexOf("\n\n")) >= 0) {
      const frame = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of frame.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length > 0) yield { event, data: data.join("\n") };
    }
  }
}

function serverStream(rpc: Rpc, fetch: GrpcServerOptions["fetch"], live: Set<AbortController>): grpc.handleServerStreamingCall<Json, Json> {
  const { item, notices } = rpc.stream!;
  return async function streamRpc(call) {
    const abort = new AbortController();
    live.add(abort);
    call.on("cancelled", () => abort.abort());
    try {
      const req = restRequest(rpc, call.request, headersOf(call.metadata, "text/event-stream"), abort.signal);
      if (!(req instanceof Request)) return void call.emit("error", missingParam(req.missing));
      const res = await fetch(req);
      if (res.status >= 300) return void call.emit("error", await errorOf(res));
      if (!res.body) return call.end();
      const reader = res.body;
      abort.signal.addEventListener("abort", () => void reader.cancel().catch(() => {}), { once: true });
      for await (const f of sseFrames(reader)) {
        if (abort.signal.aborted) break;
        const data = JSON.parse(f.data) as unknown;
        const msg = notices.includes(f.event) ? { notice: { event: f.event, ...(data as Json) } } : { [item]: data };
        // Backpressure: a slow client stops our reading, and the REST stream's own bound (drop a slow consumer) applies.
        if (!call.write(encodeMessage(rpc.response, msg))) await new Promise<void>((r) => call.once("drain", r));
      }
      if (!abort.signal.aborted) call.end();
    } catch (e) {
      if (!abort.signal.aborted) call.emit("error", Object.assign(new Error("internal error"), { code: grpc.status.INTERNAL, details: `stream failed: ${(e as Error).message}` }));
    } finally {
      live.delete(abort);
    }
  };
}

export async function startGrpcServer(opts: GrpcServerOptions): Promise<GrpcServer> {
  const pkg = buildGrpcPackage(opts.openapi);
  const server = new grpc.Server({ "grpc.max_receive_message_length": opts.maxMessageBytes });
  const live = new Set<AbortController>();
  const names: string[] = [];
  for (const svc of pkg.services) {
    const def = pkg.definition[serviceKey(svc.name)] as ServiceDefinition;
    const impl: grpc.UntypedServiceImplementation = {};
    for (const rpc of svc.rpcs) impl[rpc.name] = rpc.stream ? serverStream(rpc, opts.fetch, live) : unary(rpc, opts.fetch);
    server.addService(def as unknown as grpc.ServiceDefinition, impl);
    names.push(serviceKey(svc.name));
  }
  const status = (): HealthStatus => (opts.ready() ? "SERVING" : "NOT_SERVING");
  const health = addHealthService(server, names, status);
  addReflectionService(server, pkg);
  const creds = opts.tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: readFileSync(opts.tls.cert_file), private_key: readFileSync(opts.tls.key_file) }], false)
    : grpc.ServerCredentials.createInsecure();
  const { hostname, port } = splitListen(opts.listen);
  const target = hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
  let bound: number;
  try {
    bound = await new Promise<number>((resolve, reject) => server.bindAsync(target, creds, (err, p) => (err ? reject(err) : resolve(p))));
  } catch (e) {
    health.stop();
    server.forceShutdown();
    throw new Error(`api.grpc.listen: cannot listen on ${opts.listen}: ${(e as Error).message}`);
  }
  let stopped: Promise<void> | undefined;
  return {
    port: bound,
    address: `${hostname.includes(":") ? `[${hostname}]` : hostname}:${bound}`,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        health.stop();
        for (const a of live) a.abort();
        const force = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return stopped;
    },
  };
}
