import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureAdminToken } from "../../../src/supervisor/admin-token.ts";

describe("the local admin token", () => {
  test("a new token never starts with '-' (which `--token X` would read as an option), and is kept 0600", () => {
    const dirs: string[] = [];
    try {
      for (let i = 0; i < 200; i++) {
        const dir = mkdtempSync(join(tmpdir(), "polis-token-"));
        dirs.push(dir);
        const t = ensureAdminToken(dir);
        expect(t.created).toBe(true);
        expect(t.token.startsWith("-")).toBe(false);
        expect(t.token).toMatch(/^polis_[A-Za-z0-9_-]{32}$/);
        expect(statSync(t.file).mode & 0o777).toBe(0o600);
      }
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });

  test("an existing token is kept as written (contrast: nothing is regenerated)", () => {
    const dir = mkdtempSync(join(tmpdir(), "polis-token-"));
    try {
      writeFileSync(join(dir, "admin.token"), "an-older-token-0123456789\n");
      expect(ensureAdminToken(dir)).toMatchObject({ token: "an-older-token-0123456789", created: false });
      expect(readFileSync(join(dir, "admin.token"), "utf8")).toBe("an-older-token-0123456789\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
