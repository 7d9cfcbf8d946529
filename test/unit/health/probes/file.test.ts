import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFileProbe } from "../../../../src/health/probes/file.ts";

let dir: string;
let file: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "health-file-"));
  file = join(dir, "status");
  writeFileSync(file, "state=ready\n");
  utimesSync(file, 1000, 1000); // mtime: 1000 s after the epoch (utimes takes seconds)
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sig = () => AbortSignal.timeout(5000);

describe("file probe", () => {
  test("an existing file passes", async () => {
    expect((await createFileProbe()(file, sig())).status).toBe("passing");
  });
  test("a missing file is critical", async () => {
    const r = await createFileProbe()(join(dir, "missing"), sig());
    expect(r.status).toBe("critical");
    expect(r.output).toContain("ENOENT");
  });
  test("a directory is NOT a passing file", async () => {
    expect((await createFileProbe()(dir, sig())).status).toBe("critical");
  });
  test("max age: fresh enough passes, too old is critical", async () => {
    expect((await createFileProbe({ maxAgeMs: 5000, now: () => 1_004_000 })(file, sig())).status).toBe("passing");
    expect((await createFileProbe({ maxAgeMs: 5000, now: () => 1_007_000 })(file, sig())).status).toBe("critical");
  });
  test("content regex must match", async () => {
    expect((await createFileProbe({ contentRegex: "state=ready" })(file, sig())).status).toBe("passing");
    expect((await createFileProbe({ contentRegex: "state=down" })(file, sig())).status).toBe("critical");
    expect(() => createFileProbe({ contentRegex: "[" })).toThrow("contentRegex");
  });
});
