// gRPC server reflection (grpc.reflection.v1 and v1alpha), so grpcurl-style tools list and call the admin API
// without .proto files. File descriptors are built from the same message model the .proto texts are rendered from.
import * as grpc from "@grpc/grpc-js";
import { fromJSON, type ServiceDefinition } from "@grpc/proto-loader";
import protobuf from "protobufjs";
import descriptor from "protobufjs/ext/descriptor";
import type { GrpcPackage } from "./definition.ts";
import { PACKAGE, type Service } from "./rpcs.ts";
import type { FieldType, Msg } from "./shape.ts";

const reflectionProto = (pkg: string) => `
syntax = "proto3";
package ${pkg};
message ServerReflectionRequest {
  string host = 1;
  oneof message_request {
    string file_by_filename = 3;
    string file_containing_symbol = 4;
    ExtensionRequest file_containing_extension = 5;
    string all_extension_numbers_of_type = 6;
    string list_services = 7;
  }
}
message ExtensionRequest { string containing_type = 1; int32 extension_number = 2; }
message ServerReflectionResponse {
  string valid_host = 1;
  ServerReflectionRequest original_request = 2;
  oneof message_response {
    FileDescriptorResponse file_descriptor_response = 4;
    ExtensionNumberResponse all_extension_numbers_response = 5;
    ListServiceResponse list_services_response = 6;
    ErrorResponse error_response = 7;
  }
}
message FileDescriptorResponse { repeated bytes file_descriptor_proto = 1; }
message ExtensionNumberResponse { string base_type_name = 1; repeated int32 extension_number = 2; }
message ListServiceResponse { repeated ServiceResponse service = 1; }
message ServiceResponse { string name = 1; }
message ErrorResponse { int32 error_code = 1; string error_message = 2; }
service ServerReflection {
  rpc ServerReflectionInfo(stream ServerReflectionRequest) returns (stream ServerReflectionResponse);
}
`;

type Json = Record<string, unknown>;
const STRUCT_FILE = "google/protobuf/struct.proto";

const SCALAR_TYPE = { string: "TYPE_STRING", double: "TYPE_DOUBLE", int64: "TYPE_INT64", bool: "TYPE_BOOL" } as const;

/** google/protobuf/struct.proto as its descriptor (what protoc would emit for it). */
function structFile(): Json {
  return {
    name: STRUCT_FILE,
    package: "google.protobuf",
    messageType: [
      {
        name: "Struct",
        field: [{ name: "fields", number: 1, label: "LABEL_REPEATED", type: "TYPE_MESSAGE", typeName: ".google.protobuf.Struct.FieldsEntry", jsonName: "fields" }],
        nestedType: [
          {
            name: "FieldsEntry",
            field: [
              { name: "key", number: 1, label: "LABEL_OPTIONAL", type: "TYPE_STRING", jsonName: "key" },
              { name: "value", number: 2, label: "LABEL_OPTIONAL", type: "TYPE_MESSAGE", typeName: ".google.protobuf.Value", jsonName: "value" },
            ],
            options: { mapEntry: true },
          },
        ],
      },
      {
        name: "Value",
        field: [
          { name: "null_value", number: 1, label: "LABEL_OPTIONAL", type: "TYPE_ENUM", typeName: ".google.protobuf.NullValue", oneofIndex: 0, jsonName: "nullValue" },
          { name: "number_value", number: 2, label: "LABEL_OPTIONAL", type: "TYPE_DOUBLE", oneofIndex: 0, jsonName: "numberValue" },
          { name: "string_value", number: 3, label: "LABEL_OPTIONAL", type: "TYPE_STRING", oneofIndex: 0, jsonName: "stringValue" },
          { name: "bool_value", number: 4, label: "LABEL_OPTIONAL", type: "TYPE_BOOL", oneofIndex: 0, jsonName: "boolValue" },
          { name: "struct_value", number: 5, label: "LABEL_OPTIONAL", type: "TYPE_MESSAGE", typeName: ".google.protobuf.Struct", oneofIndex: 0, jsonName: "structValue" },
          { name: "list_value", number: 6, label: "LABEL_OPTIONAL", type: "TYPE_MESSAGE", typeName: ".google.protobuf.ListValue", oneofIndex: 0, jsonName: "listValue" },
        ],
        oneofDecl: [{ name: "kind" }],
      },
      { name: "ListValue", field: [{ name: "values", number: 1, label: "LABEL_REPEATED", type: "TYPE_MESSAGE", typeName: ".google.protobuf.Value", jsonName: "values" }] },
    ],
    enumType: [{ name: "NullValue", value: [{ name: "NULL_VALUE", number: 0 }] }],
    syntax: "proto3",
  };
}

function messageDescriptor(m: Msg, scope: string, usesStruct: { v: boolean }): Json {
  const full = `${scope}.${m.name}`;
  const nested: Json[] = m.nested.map((n) => messageDescriptor(n, full, usesStruct));
  const fields: Json[] = [];
  const oneofs: Json[] = [];
  const typeRef = (t: FieldType): Json => {
    if (t.k === "scalar") return { type: SCALAR_TYPE[t.proto] };
    if (t.k === "message") return { type: "TYPE_MESSAGE", typeName: `${full}.${t.msg.name}` };
    usesStruct.v = true;
    return { type: "TYPE_MESSAGE", typeName: t.k === "struct" ? ".google.protobuf.Struct" : ".google.protobuf.Value" };
  };
  for (const f of m.fields) {
    const base = { name: f.name, number: f.number, jsonName: f.json };
    if (f.type.k === "repeated") fields.push({ ...base, label: "LABEL_REPEATED", ...typeRef(f.type.of) });
    else if (f.type.k === "map") {
      const entry = `${f.name.split("_").map((w) => (w ? w[0]!.toUpperCase() + w.slice(1) : "")).join("")}Entry`;
      nested.push({
        name: entry,
        field: [
          { name: "key", number: 1, label: "LABEL_OPTIONAL", type: "TYPE_STRING", jsonName: "key" },
          { name: "value", number: 2, label: "LABEL_OPTIONAL", jsonName: "value", ...typeRef(f.type.value) },
        ],
        options: { mapEntry: true },
      });
      fields.push({ ...base, label: "LABEL_REPEATED", type: "TYPE_MESSAGE", typeName: `${full}.${entry}` });
    } else if (f.optional) {
      oneofs.push({ name: `_${f.name}` });
      fields.push({ ...base, label: "LABEL_OPTIONAL", proto3Optional: true, oneofIndex: oneofs.length - 1, ...typeRef(f.type) });
    } else fields.push({ ...base, label: "LABEL_OPTIONAL", ...typeRef(f.type) });
  }
  // Synthetic oneofs of proto3 `optional` come after any real one (there are none here).
  return {
    name: m.name,
    field: fields,
    nestedType: nested,
    ...(oneofs.length > 0 ? { oneofDecl: oneofs } : {}),
    ...(m.reserved.length > 0 ? { reservedRange: m.reserved.map((n) => ({ start: n, end: n + 1 })) } : {}),
  };
}

function serviceFile(svc: Service): Json {
  const usesStruct = { v: false };
  const scope = `.${PACKAGE}`;
  const messageType = svc.rpcs.flatMap((r) => [messageDescriptor(r.request, scope, usesStruct), messageDescriptor(r.response, scope, usesStruct)]);
  return {
    name: `polis/v1/${svc.file}.proto`,
    package: PACKAGE,
    ...(usesStruct.v ? { dependency: [STRUCT_FILE] } : {}),
    messageType,
    service: [
      {
        name: svc.name,
        method: svc.rpcs.map((r) => ({ name: r.name, inputType: `${scope}.${r.request.name}`, outputType: `${scope}.${r.response.name}`, ...(r.stream ? { serverStreaming: true } : {}) })),
      },
    ],
    options: { goPackage: "polis/gen/polis/v1;polisv1" },
    syntax: "proto3",
  };
}

/** File name -> encoded FileDescriptorProto, and fully qualified symbol -> file name. */
export function descriptorIndex(services: readonly Service[]): { files: Map<string, Uint8Array>; deps: Map<string, string[]>; symbols: Map<string, string> } {
  const FileDescriptorProto = (descriptor as unknown as { FileDescriptorProto: protobuf.Type }).FileDescriptorProto;
  const files = new Map<string, Uint8Array>();
  const deps = new Map<string, string[]>();
  const symbols = new Map<string, string>();
  const add = (d: Json) => {
    files.set(d.name as string, FileDescriptorProto.encode(FileDescriptorProto.fromObject(d)).finish());
    deps.set(d.name as string, (d.dependency as string[] | undefined) ?? []);
  };
  add(structFile());
  for (const s of ["Struct", "Value", "ListValue", "NullValue"]) symbols.set(`google.protobuf.${s}`, STRUCT_FILE);
  for (const svc of services) {
    const d = serviceFile(svc);
    add(d);
    const file = d.name as string;
    symbols.set(`${PACKAGE}.${svc.name}`, file);
    const walk = (m: Msg, scope: string) => {
      symbols.set(`${scope}.${m.name}`, file);
      for (const n of m.nested) walk(n, `${scope}.${m.name}`);
    };
    for (const r of svc.rpcs) {
      symbols.set(`${PACKAGE}.${svc.name}.${r.name}`, file);
      walk(r.request, PACKAGE);
      walk(r.response, PACKAGE);
    }
  }
  return { files, deps, symbols };
}

export function addReflectionService(server: grpc.Server, pkg: GrpcPackage, extraServices: readonly string[] = ["grpc.health.v1.Health"]): void {
  const index = descriptorIndex(pkg.services);
  const serviceNames = [...pkg.services.map((s) => `${PACKAGE}.${s.name}`), ...extraServices];
  /** The file and everything it imports, itself first (what a reflection client needs to build it). */
  const closure = (file: string): Uint8Array[] => {
    const seen = new Set<string>();
    const order: string[] = [];
    const visit = (f: string) => {
      if (seen.has(f)) return;
      seen.add(f);
      order.push(f);
      for (const d of index.deps.get(f) ?? []) visit(d);
    };
    visit(file);
    return order.map((f) => index.files.get(f)!);
  };
  const answer = (req: Json): Json => {
    const base = { valid_host: req.host ?? "", original_request: req };
    const notFound = (what: string) => ({ ...base, error_response: { error_code: grpc.status.NOT_FOUND, error_message: what } });
    if (req.list_services !== undefined) return { ...base, list_services_response: { service: serviceNames.map((name) => ({ name })) } };
    if (typeof req.file_by_filename === "string") {
      return index.files.has(req.file_by_filename) ? { ...base, file_descriptor_response: { file_descriptor_proto: closure(req.file_by_filename) } } : notFound(`no file ${req.file_by_filename}`);
    }
    if (typeof req.file_containing_symbol === "string") {
      const file = index.symbols.get(req.file_containing_symbol.replace(/^\./, ""));
      return file ? { ...base, file_descriptor_response: { file_descriptor_proto: closure(file) } } : notFound(`no symbol ${req.file_containing_symbol}`);
    }
    if (req.file_containing_extension !== undefined) return notFound("this API defines no extensions");
    if (typeof req.all_extension_numbers_of_type === "string") {
      return index.symbols.has(req.all_extension_numbers_of_type) ? { ...base, all_extension_numbers_response: { base_type_name: req.all_extension_numbers_of_type, extension_number: [] } } : notFound(`no type ${req.all_extension_numbers_of_type}`);
    }
    return { ...base, error_response: { error_code: grpc.status.UNIMPLEMENTED, error_message: "unknown reflection request" } };
  };
  for (const version of ["grpc.reflection.v1", "grpc.reflection.v1alpha"]) {
    const root = protobuf.parse(reflectionProto(version), { keepCase: true }).root;
    const def = fromJSON(root.toJSON(), { keepCase: true, longs: Number, enums: String, defaults: false, oneofs: false })[`${version}.ServerReflection`] as ServiceDefinition;
    server.addService(def as unknown as grpc.ServiceDefinition, {
      ServerReflectionInfo(call: grpc.ServerDuplexStream<Json, Json>) {
        call.on("data", (req: Json) => call.write(answer(req)));
        call.on("end", () => call.end());
        call.on("error", () => {});
      },
    });
  }
}
