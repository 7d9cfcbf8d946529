// State store faults made real: a file that is not a database, a store deleted or replaced under us, and a full
// disk (a small tmpfs; mounting needs root, which CI has: there the test must run, elsewhere it says why it skips).
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StoreError, type StoreFault } from "../../../src/state/store-fault.ts";
import { openStore } from "../../../src/state/store.ts";

const GARBAGE = "this is not a sqlite file ".repeat(200);

function caught(f: () => unknown): StoreError {
  try {
    f();
  } catch (e) {
    if (e instanceof StoreError) return e;
    throw e;
  }
  throw new Error("expected a StoreError");
}

describe("a corrupt state store", () => {
  test("refuses to open with one line that names the file and the fix, and leaves the file as it was", () => {
    const dir = mkdtempSync(join(tmpdir(), "polis-store-"));
    writeFileSync(join(dir, "polis.db"), GARBAGE);
    const e = caught(() => openStore(dir));
    expect(e.reason).toBe("corrupt");
    expect(e.message).toContain(join(dir, "polis.db"));
    expect(e.message).toContain("--recover");
    expect(e.message).not.toContain("\n");
    expect(readFileSync(join(dir, "polis.db"), "utf8")).toBe(GARBAGE);
    rmSync(dir, { recursive: true, force: true });
  });

  test("with recover it is moved aside and a fresh store works", () => {
    const dir = mkdtempSync(join(tmpdir(), "polis-store-"));
    writeFileSync(join(dir, "polis.db"), GARBAGE);
    const s = openStore(dir, { recover: true });
    expect(s.recovered?.movedTo).toStartWith(join(dir, "polis.db.corrupt-"));
    expect(readFileSync(s.recovered!.movedTo, "utf8")).toBe(GARBAGE);
    s.putKv("k", 1);
    expect(s.getKv("k")).toBe(1);
    s.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("a store that vanishes or is replaced under the agent", () => {
  test("a deleted data dir is noticed: the fault is reported once and writes are refused", () => {
    const root = mkdtempSync(join(tmpdir(), "polis-store-"));
    const dir = join(root, "data");
    const faults: Array<StoreFault | null> = [];
    const s = openStore(dir, { onFault: (f) => faults.push(f) });
    s.putKv("k", 1);
    expect(s.check()).toBeNull();
    rmSync(dir, { recursive: true, force: true });
    expect(s.check()?.reason).toBe("gone");
    expect(s.check()?.reason).toBe("gone");
    expect(faults.map((f) => f?.reason)).toEqual(["gone"]);
    expect(caught(() => s.putKv("k", 2)).reason).toBe("gone");
    s.close();
    rmSync(root, { recursive: true, force: true });
  });

  test("a write right after the data dir is deleted is refused without waiting for a periodic check", () => {
    const root = mkdtempSync(join(tmpdir(), "polis-store-"));
    const dir = join(root, "data");
    const s = openStore(dir);
    s.putKv("k", 1);
    rmSync(dir, { recursive: true, force: true });
    expect(caught(() => s.putKv("k", 2)).reason).toBe("gone");
    expect(s.fault()?.reason).toBe("gone");
    s.close();
    rmSync(root, { recursive: true, force: true });
  });

  test("another file moved into its place is noticed as a replacement", () => {
    const dir = mkdtempSync(join(tmpdir(), "polis-store-"));
    const s = openStore(dir);
    const other = openStore(mkdtempSync(join(tmpdir(), "polis-store-other-")));
    other.close();
    renameSync(other.path, s.path);
    expect(s.check()?.reason).toBe("replaced");
    expect(caught(() => s.putReplica({ app: "a", id: "0", pid: 1, startTime: 1, port: 1 })).reason).toBe("replaced");
    s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("contrast: an untouched store reports nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "polis-store-"));
    const s = openStore(dir);
    for (let i = 0; i < 3; i++) expect(s.check()).toBeNull();
    s.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

/** A 2 MiB tmpfs, or the reason there is none. */
function smallTmpfs(): { dir: string; [Symbol.dispose](): void } | string {
  const dir = mkdtempSync(join(tmpdir(), "polis-tmpfs-"));
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", dir], { encoding: "utf8" });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return `mount -t tmpfs is not permitted here (${(r.stderr || r.error?.message || "").trim()})`;
  }
  return {
    dir,
    [Symbol.dispose]() {
      spawnSync("umount", [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe("a full disk under the store", () => {
  test("a write is refused with a tagged error, reported once, buffered events are dropped (counted), and writes work again once there is room", () => {
    const fs = smallTmpfs();
    if (typeof fs === "string") {
      if (process.env.CI === "true") throw new Error(`CI needs this test: ${fs}`);
      console.warn(`skipped: ${fs}`);
      return;
    }
    using _ = fs;
    const faults: Array<StoreFault | null> = [];
    const s = openStore(join(fs.dir, "data"), { onFault: (f) => faults.push(f) });
    s.putKv("small", 1);
    const filler = join(fs.dir, "filler");
    // Fill the rest of the file system (dd stops at ENOSPC).
    spawnSync("dd", ["if=/dev/zero", `of=${filler}`, "bs=64k"], { stdio: "ignore" });
    const big = "x".repeat(256 * 1024);
    const e = caught(() => s.putKv("big", big));
    expect(e.reason).toBe("full");
    expect(e.message).toContain(s.path);
    expect(caught(() => s.putKv("big2", big)).reason).toBe("full");
    for (let i = 0; i < 2000; i++) s.appendEvent({ seq: i + 1, ts: i, type: "x", source: "s", target: "t", severity: "info", message: big.slice(0, 200) });
    s.flush();
    expect(s.droppedEvents).toBeGreaterThan(0);
    expect(faults.map((f) => f?.reason)).toEqual(["full"]);
    expect(s.getKv("small")).toBe(1);
    rmSync(filler);
    s.putKv("after", 2);
    expect(s.getKv("after")).toBe(2);
    expect(faults.map((f) => f?.reason ?? null)).toEqual(["full", null]);
    // A clean close even after the fault.
    s.close();
  });
});
