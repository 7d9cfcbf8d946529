// The admin API's gRPC package, built in memory from the route schemas: the .proto texts, the protobufjs root they
// parse into, and the grpc-js service definitions (serializers included) the server registers.
import { type PackageDefinition, fromJSON } from "@grpc/proto-loader";
import protobuf from "protobufjs";
import lock from "../../../proto/polis/v1/field-numbers.json" with { type: "json" };
import { protoFiles } from "./proto-text.ts";
import { PACKAGE, type Service, servicesOf } from "./rpcs.ts";

export interface GrpcPackage {
  readonly services: Service[];
  readonly files: Map<string, string>;
  readonly definition: PackageDefinition;
  /** Field numbers, with any new field appended (what scripts/docs/api.ts writes back). */
  readonly lock: Record<string, Record<string, number>>;
}

/** What gRPC clients get: protobufjs objects keyed by proto field names, 64-bit numbers as JS numbers, absent stays absent. */
export const LOADER_OPTIONS = { keepCase: true, longs: Number, enums: String, defaults: false, oneofs: false } as const;

/** Builds the package from an OpenAPI document (the one GET /openapi.json serves). */
export function buildGrpcPackage(openapi: Record<string, unknown>): GrpcPackage {
  const numbers = structuredClone(lock) as Record<string, Record<string, number>>;
  const services = servicesOf(openapi, numbers);
  const files = protoFiles(services);
  const root = new protobuf.Root();
  root.addJSON((protobuf.common.get("google/protobuf/struct.proto") as { nested: Record<string, protobuf.AnyNestedObject> }).nested);
  for (const text of files.values()) protobuf.parse(text, root, { keepCase: true });
  root.resolveAll();
  return { services, files, definition: fromJSON(root.toJSON(), LOADER_OPTIONS), lock: numbers };
}

export const serviceKey = (service: string) => `${PACKAGE}.${service}`;
