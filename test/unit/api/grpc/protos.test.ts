// The checked-in proto/polis/v1 files are what the routes generate, protoc compiles them, and the descriptors the
// reflection service hands out are the ones protoc builds from those files.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import descriptor from "protobufjs/ext/descriptor";
import { offlineSpec } from "../../../../scripts/docs/api.ts";
import { PROTO_DIR, renderProtos } from "../../../../scripts/docs/proto.ts";
import { buildGrpcPackage } from "../../../../src/api/grpc/definition.ts";
import { descriptorIndex } from "../../../../src/api/grpc/reflection.ts";

const protoDir = PROTO_DIR.pathname;
const FDS = (descriptor as unknown as { FileDescriptorSet: { decode(b: Uint8Array): unknown; toObject(m: unknown, o: object): { file: Record<string, unknown>[] } } }).FileDescriptorSet;
const FDP = (descriptor as unknown as { FileDescriptorProto: { decode(b: Uint8Array): unknown; toObject(m: unknown, o: object): Record<string, unknown> } }).FileDescriptorProto;

describe("proto/polis/v1", () => {
  test("the checked-in files are what the routes generate (run npx bun scripts/docs/api.ts after an API change)", () => {
    const files = renderProtos();
    for (const [path, text] of files) expect({ path, text: readFileSync(join(protoDir, path), "utf8") }).toEqual({ path, text });
    const onDisk = readdirSync(join(protoDir, "polis/v1")).map((f) => `polis/v1/${f}`);
    expect(onDisk.sort()).toEqual([...files.keys()].sort());
  });

  test("protoc compiles them, and reflection serves the descriptors protoc builds (json_name and proto3 optional included)", () => {
    const dir = mkdtempSync(join(tmpdir(), "polis-protoc-"));
    try {
      const files = readdirSync(join(protoDir, "polis/v1")).filter((f) => f.endsWith(".proto")).map((f) => `polis/v1/${f}`);
      const out = join(dir, "set.pb");
      const run = Bun.spawnSync(["protoc", `-I${protoDir}`, "--include_imports", `--descriptor_set_out=${out}`, ...files], { cwd: protoDir, stderr: "pipe" });
      expect(run.stderr.toString()).toBe("");
      expect(run.exitCode).toBe(0);
      const set = FDS.toObject(FDS.decode(readFileSync(out)), { defaults: false });
      const mine = descriptorIndex(buildGrpcPackage(offlineSpec()).services);
      for (const f of set.file) {
        const served = mine.files.get(f.name as string);
        expect(served).toBeDefined();
        const ours = FDP.toObject(FDP.decode(served!), { defaults: false });
        // protoc adds the language options of struct.proto (java_package...), which no client needs to resolve types.
        if (f.name === "google/protobuf/struct.proto") delete (f as { options?: unknown }).options;
        expect(ours).toEqual(f);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
