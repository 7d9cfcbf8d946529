// REST answers -> gRPC status: the HTTP status picks the code, the JSON envelope {code, message, details} becomes the
// message plus google.rpc.Status details (BadRequest with one FieldViolation per problem, ErrorInfo with the code).
import { Metadata, status as Code } from "@grpc/grpc-js";
import protobuf from "protobufjs";

const RPC_PROTO = `
syntax = "proto3";
package google.rpc;
message Any { string type_url = 1; bytes value = 2; }
message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
message BadRequest { message FieldViolation { string field = 1; string description = 2; } repeated FieldViolation field_violations = 1; }
message ErrorInfo { string reason = 1; string domain = 2; map<string, string> metadata = 3; }
`;
const root = protobuf.parse(RPC_PROTO, { keepCase: true }).root;
const StatusType = root.lookupType("google.rpc.Status");
const BadRequestType = root.lookupType("google.rpc.BadRequest");
const ErrorInfoType = root.lookupType("google.rpc.ErrorInfo");

/** HTTP status -> gRPC code, as google.rpc.Code documents the pairs (409 is a state conflict: FAILED_PRECONDITION). */
export function codeOf(httpStatus: number): Code {
  switch (httpStatus) {
    case 400:
    case 422:
      return Code.INVALID_ARGUMENT;
    case 401:
      return Code.UNAUTHENTICATED;
    case 403:
      return Code.PERMISSION_DENIED;
    case 404:
      return Code.NOT_FOUND;
    case 405:
      return Code.UNIMPLEMENTED;
    case 409:
      return Code.FAILED_PRECONDITION;
    case 413:
    case 429:
    case 507:
      return Code.RESOURCE_EXHAUSTED;
    case 502:
    case 503:
      return Code.UNAVAILABLE;
    case 504:
      return Code.DEADLINE_EXCEEDED;
    default:
      return httpStatus >= 500 ? Code.INTERNAL : Code.UNKNOWN;
  }
}

export interface GrpcError {
  code: Code;
  details: string;
  metadata: Metadata;
}

interface Problem {
  field?: unknown;
  message?: unknown;
  value?: unknown;
}

function violations(details: unknown): { field: string; description: string }[] {
  if (!details || typeof details !== "object") return [];
  const d = details as { problems?: Problem[]; field?: unknown; value?: unknown };
  const list: Problem[] = Array.isArray(d.problems) ? d.problems : typeof d.field === "string" ? [{ field: d.field, value: d.value }] : [];
  return list.map((p) => ({
    field: String(p.field ?? ""),
    description: `${typeof p.message === "string" ? p.message : "invalid value"}${p.value !== undefined ? ` (got ${JSON.stringify(p.value)})` : ""}`,
  }));
}

/** The gRPC error for a REST error answer: `body` is its parsed JSON envelope (or undefined when it was not JSON). */
export function grpcErrorOf(httpStatus: number, body: unknown): GrpcError {
  const env = (body && typeof body === "object" ? body : {}) as { code?: unknown; message?: unknown; details?: unknown };
  const code = codeOf(httpStatus);
  const reason = typeof env.code === "string" ? env.code : `http_${httpStatus}`;
  const message = typeof env.message === "string" ? env.message : `HTTP ${httpStatus}`;
  const any: { type_url: string; value: Uint8Array }[] = [];
  const v = violations(env.details);
  if (code === Code.INVALID_ARGUMENT && v.length > 0) {
    any.push({ type_url: "type.googleapis.com/google.rpc.BadRequest", value: BadRequestType.encode(BadRequestType.fromObject({ field_violations: v })).finish() });
  }
  const info: Record<string, string> = { http_status: String(httpStatus) };
  if (env.details && typeof env.details === "object" && !Array.isArray(env.details)) {
    for (const [k, val] of Object.entries(env.details)) if (k !== "problems") info[k] = typeof val === "string" ? val : JSON.stringify(val);
  }
  any.push({ type_url: "type.googleapis.com/google.rpc.ErrorInfo", value: ErrorInfoType.encode(ErrorInfoType.fromObject({ reason, domain: "polis", metadata: info })).finish() });
  const metadata = new Metadata();
  metadata.set("grpc-status-details-bin", Buffer.from(StatusType.encode(StatusType.fromObject({ code, message, details: any })).finish()));
  return { code, details: message, metadata };
}

/** Decodes grpc-status-details-bin (for clients and tests): the status with its BadRequest and ErrorInfo, if any. */
export function decodeStatusDetails(bin: Buffer): { code: number; message: string; badRequest?: { field_violations?: { field: string; description: string }[] }; errorInfo?: { reason: string; domain: string; metadata?: Record<string, string> } } {
  const s = StatusType.toObject(StatusType.decode(bin)) as { code: number; message: string; details?: { type_url: string; value: Uint8Array }[] };
  const out: ReturnType<typeof decodeStatusDetails> = { code: s.code, message: s.message };
  for (const d of s.details ?? []) {
    if (d.type_url.endsWith("/google.rpc.BadRequest")) out.badRequest = BadRequestType.toObject(BadRequestType.decode(d.value)) as never;
    if (d.type_url.endsWith("/google.rpc.ErrorInfo")) out.errorInfo = ErrorInfoType.toObject(ErrorInfoType.decode(d.value)) as never;
  }
  return out;
}
