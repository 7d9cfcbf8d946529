// A grpc-js client of the admin API built from the checked-in proto/polis/v1/*.proto files (what any generated
// client would be built from), with small promise helpers for unary calls and server streams.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as loader from "@grpc/proto-loader";
import { decodeStatusDetails } from "../../src/api/grpc/status.ts";

export const PROTO_ROOT = join(import.meta.dir, "../../proto");
const files = readdirSync(join(PROTO_ROOT, "polis/v1")).filter((f) => f.endsWith(".proto")).map((f) => `polis/v1/${f}`);
export const definition = loader.loadSync(files, { keepCase: true, longs: Number, enums: String, defaults: false, oneofs: true, includeDirs: [PROTO_ROOT] });
export const polis = (grpc.loadPackageDefinition(definition) as any).polis.v1;

export type Json = Record<string, any>;

export interface RpcFailure {
  code: grpc.status;
  details: string;
  status?: ReturnType<typeof decodeStatusDetails>;
}

export function bearer(token: string | undefined): grpc.Metadata {
  const md = new grpc.Metadata();
  if (token) md.set("authorization", `Bearer ${token}`);
  return md;
}

export function failureOf(e: grpc.ServiceError): RpcFailure {
  const bin = e.metadata?.get("grpc-status-details-bin")[0];
  return { code: e.code, details: e.details, ...(bin instanceof Buffer ? { status: decodeStatusDetails(bin) } : {}) };
}

/** Calls a unary RPC: {ok: response} or {error: failure}. */
export function unary(client: any, method: string, req: Json, token?: string, deadlineMs = 15_000): Promise<{ ok?: Json; error?: RpcFailure }> {
  return new Promise((resolve) => {
    client[method](req, bearer(token), { deadline: Date.now() + deadlineMs }, (e: grpc.ServiceError | null, v: Json) => resolve(e ? { error: failureOf(e) } : { ok: v }));
  });
}

/** Reads a server stream until it ends, fails, or `stopAfter` messages came (then cancels it). */
export function collect(client: any, method: string, req: Json, token: string | undefined, opts: { stopAfter?: number; deadlineMs?: number; onStart?: () => void } = {}): Promise<{ messages: Json[]; error?: RpcFailure }> {
  return new Promise((resolve) => {
    const call = client[method](req, bearer(token), { deadline: Date.now() + (opts.deadlineMs ?? 15_000) });
    const messages: Json[] = [];
    let done = false;
    const finish = (error?: RpcFailure) => {
      if (done) return;
      done = true;
      resolve({ messages, ...(error ? { error } : {}) });
    };
    call.on("metadata", () => opts.onStart?.());
    call.on("data", (m: Json) => {
      messages.push(m);
      if (opts.stopAfter !== undefined && messages.length >= opts.stopAfter) {
        finish();
        call.cancel();
      }
    });
    call.on("end", () => finish());
    call.on("error", (e: grpc.ServiceError) => finish(e.code === grpc.status.CANCELLED && done ? undefined : failureOf(e)));
  });
}
