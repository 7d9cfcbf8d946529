// Renders the derived services as .proto files (proto/polis/v1/<resource>.proto): what the server loads and what
// clients generate code from.
import { type FieldType, type Msg } from "./shape.ts";
import { PACKAGE, type Rpc, type Service } from "./rpcs.ts";

const HEADER = "// Generated from the admin API's route schemas by scripts/docs/api.ts; do not edit by hand.";

function typeName(t: FieldType): string {
  switch (t.k) {
    case "scalar":
      return t.proto;
    case "message":
      return t.msg.name;
    case "value":
      return "google.protobuf.Value";
    case "struct":
      return "google.protobuf.Struct";
    case "repeated":
      return `repeated ${typeName(t.of)}`;
    case "map":
      return `map<string, ${typeName(t.value)}>`;
  }
}

function comment(text: string | undefined, indent: string): string[] {
  if (!text) return [];
  return text.split("\n").map((l) => `${indent}// ${l}`.trimEnd());
}

function usesWellKnown(m: Msg): boolean {
  const inType = (t: FieldType): boolean => t.k === "value" || t.k === "struct" || (t.k === "repeated" && inType(t.of)) || (t.k === "map" && inType(t.value));
  return m.fields.some((f) => inType(f.type)) || m.nested.some(usesWellKnown);
}

function renderMessage(m: Msg, indent: string): string[] {
  const out = [...comment(m.doc, indent), `${indent}message ${m.name} {`];
  const inner = `${indent}  `;
  for (const n of m.nested) out.push(...renderMessage(n, inner));
  if (m.reserved.length > 0) out.push(`${inner}reserved ${m.reserved.join(", ")};`);
  for (const f of m.fields) {
    out.push(...comment(f.doc, inner));
    out.push(`${inner}${f.optional ? "optional " : ""}${typeName(f.type)} ${f.name} = ${f.number} [json_name = "${f.json}"];`);
  }
  out.push(`${indent}}`);
  return out;
}

function rpcLine(r: Rpc): string[] {
  const role = `Needs role ${r.role}. REST: ${r.method} ${r.path}${r.stream ? " (Server-Sent Events)" : ""}.`;
  return [...comment(`${r.summary}. ${role}`, "  "), `  rpc ${r.name}(${r.request.name}) returns (${r.stream ? "stream " : ""}${r.response.name});`];
}

/** file name ("polis/v1/apps.proto") -> its text. */
export function protoFiles(services: readonly Service[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const svc of services) {
    const messages = svc.rpcs.flatMap((r) => [r.request, r.response]);
    const lines = [HEADER, 'syntax = "proto3";', "", `package ${PACKAGE};`, ""];
    if (messages.some(usesWellKnown)) lines.push('import "google/protobuf/struct.proto";', "");
    lines.push(`option go_package = "polis/gen/polis/v1;polisv1";`, "");
    lines.push(...comment(`The ${svc.file} resource of the admin API. Authenticate with "authorization: Bearer <token or JWT>" metadata.`, ""));
    lines.push(`service ${svc.name} {`);
    for (const r of svc.rpcs) lines.push(...rpcLine(r));
    lines.push("}", "");
    for (const m of messages) lines.push(...renderMessage(m, ""), "");
    files.set(`polis/v1/${svc.file}.proto`, `${lines.join("\n").trimEnd()}\n`);
  }
  return files;
}
