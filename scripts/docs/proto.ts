// Writes proto/polis/v1/*.proto (the admin API's gRPC services) and the field-number lock from the route schemas.
// scripts/docs/api.ts runs this too; a unit test fails when the files drift from the routes.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { buildGrpcPackage } from "../../src/api/grpc/definition.ts";
import { PACKAGE } from "../../src/api/grpc/rpcs.ts";
import type { Msg } from "../../src/api/grpc/shape.ts";
import { offlineSpec } from "./api.ts";

export const PROTO_DIR = new URL("../../proto/", import.meta.url);
export const LOCK_FILE = new URL("../../proto/polis/v1/field-numbers.json", import.meta.url);

/** file path under proto/ -> text, the lock included. */
export function renderProtos(): Map<string, string> {
  const pkg = buildGrpcPackage(offlineSpec());
  const out = new Map(pkg.files);
  // Numbers of a message that no longer exists protect nothing: a message of that name later is a new message.
  const live = new Set<string>();
  const walk = (m: Msg, path: string) => {
    live.add(path);
    for (const n of m.nested) walk(n, `${path}.${n.name}`);
  };
  for (const svc of pkg.services) for (const r of svc.rpcs) for (const m of [r.request, r.response]) walk(m, `${PACKAGE}.${m.name}`);
  const sorted = Object.fromEntries(Object.keys(pkg.lock).filter((k) => live.has(k)).sort().map((k) => [k, pkg.lock[k]]));
  out.set("polis/v1/field-numbers.json", `${JSON.stringify(sorted, null, 2)}\n`);
  return out;
}

export function writeProtos(): string[] {
  const files = renderProtos();
  const dir = new URL("polis/v1/", PROTO_DIR);
  mkdirSync(dir, { recursive: true });
  // A service that went away takes its file with it; the lock keeps its numbers.
  for (const f of readdirSync(dir)) if (f.endsWith(".proto") && !files.has(`polis/v1/${f}`)) rmSync(new URL(f, dir));
  for (const [path, text] of files) writeFileSync(new URL(path, PROTO_DIR), text);
  return [...files.keys()];
}

if (import.meta.main) console.log(`wrote ${writeProtos().length} files under ${PROTO_DIR.pathname}`);
