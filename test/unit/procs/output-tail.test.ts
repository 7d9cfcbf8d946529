// Output tail: appended bytes become lines from the last offset, partial lines wait, truncation restarts,
// rotation is copytruncate under a size cap, a flood is read in bounded pieces, no fd is left open.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { appendFileSync, closeSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileTail, MAX_READ_PER_POLL, OutputTails, READ_CHUNK_BYTES, openOutputFiles, outputPaths } from "../../../src/procs/output-tail.ts";
import { waitFor } from "../../support/wait-for.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "polis-tail-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const openFds = () => readdirSync("/proc/self/fd").length;

function tailOf(name: string, rotation = { maxBytes: 1 << 20, files: 2 }, from = 0) {
  const lines: string[] = [];
  const path = join(dir, name);
  const tail = new FileTail(path, rotation, (l) => lines.push(l), from);
  const buf = Buffer.alloc(READ_CHUNK_BYTES);
  return { path, lines, tail, poll: (budget?: number) => tail.poll(buf, budget) };
}

describe("file tail", () => {
  test("a file that does not exist yet reads as empty, then its appends become lines in order", () => {
    const t = tailOf("a.log");
    expect(t.poll()).toBe(0);
    appendFileSync(t.path, "one\ntwo\n");
    t.poll();
    appendFileSync(t.path, "three\n");
    t.poll();
    expect(t.lines).toEqual(["one", "two", "three"]);
  });

  test("a partial line waits for the rest; the writer's end flushes the last unterminated line", () => {
    const t = tailOf("a.log");
    appendFileSync(t.path, "hel");
    t.poll();
    expect(t.lines).toEqual([]);
    appendFileSync(t.path, "lo\nwor");
    t.poll();
    expect(t.lines).toEqual(["hello"]);
    t.tail.end();
    expect(t.lines).toEqual(["hello", "wor"]);
  });

  test("it starts at the given offset: what was there before is not read again", () => {
    writeFileSync(join(dir, "a.log"), "old\n");
    const t = tailOf("a.log", undefined, 4);
    appendFileSync(t.path, "new\n");
    t.poll();
    expect(t.lines).toEqual(["new"]);
  });

  test("a file truncated behind our back is read again from its start", () => {
    const t = tailOf("a.log");
    appendFileSync(t.path, "first line that is long\n");
    t.poll();
    truncateSync(t.path, 0);
    appendFileSync(t.path, "after\n");
    t.poll();
    expect(t.lines).toEqual(["first line that is long", "after"]);
  });

  test("past maxBytes the file is copied to .1 and truncated in place; generations shift up to `files`", () => {
    const t = tailOf("a.log", { maxBytes: 100, files: 2 });
    for (let gen = 0; gen < 4; gen++) {
      appendFileSync(t.path, `${`gen${gen} `.repeat(20)}\n`);
      t.poll();
    }
    expect(readdirSync(dir).sort()).toEqual(["a.log", "a.log.1", "a.log.2"]);
    expect(statSync(t.path).size).toBe(0);
    expect(readFileSync(`${t.path}.1`, "utf8")).toStartWith("gen3 ");
    expect(readFileSync(`${t.path}.2`, "utf8")).toStartWith("gen2 ");
    expect(t.lines.map((l) => l.slice(0, 4))).toEqual(["gen0", "gen1", "gen2", "gen3"]);
  });

  test("an O_APPEND writer keeps writing at the new end after a rotation, and a line split by it is joined", () => {
    const t = tailOf("a.log", { maxBytes: 10, files: 1 });
    const { stdout: fd } = openOutputFiles(dir, { stdout: t.path, stderr: join(dir, "unused.log") });
    try {
      writeSync(fd, "0123456789abc");
      t.poll();
      expect(statSync(t.path).size).toBe(0);
      writeSync(fd, "def\n");
      expect(statSync(t.path).size).toBe(4);
      t.poll();
      expect(t.lines).toEqual(["0123456789abcdef"]);
      expect(readFileSync(`${t.path}.1`, "utf8")).toBe("0123456789abc");
    } finally {
      closeSync(fd);
    }
  });

  test("with files 0 a rotation only truncates", () => {
    const t = tailOf("a.log", { maxBytes: 10, files: 0 });
    appendFileSync(t.path, "a long enough line\n");
    t.poll();
    expect(readdirSync(dir)).toEqual(["a.log"]);
    expect(statSync(t.path).size).toBe(0);
  });

  test("a flood is read in bounded pieces: one poll reads at most its budget, skips to the newest bytes and says so", () => {
    const t = tailOf("a.log", { maxBytes: 64 << 20, files: 1 });
    const line = `${"x".repeat(99)}\n`;
    appendFileSync(t.path, line.repeat(40_000)); // 4 MB, far more than one poll reads
    appendFileSync(t.path, "LAST\n");
    expect(t.poll()).toBe(MAX_READ_PER_POLL);
    expect(t.lines[0]).toMatch(/^… \[skipped \d+ bytes of output\]$/);
    expect(t.lines.at(-1)).toBe("LAST");
    // Every other line is whole: the fragment before the first newline after the gap was dropped.
    expect(t.lines.slice(1, -1).every((l) => l === "x".repeat(99))).toBe(true);
    expect(t.lines.length).toBeLessThanOrEqual(2 + MAX_READ_PER_POLL / 100);
    expect(t.poll()).toBe(0);
  });

  test("tailing opens and closes its own fds: none is left behind after many polls and rotations", () => {
    const t = tailOf("a.log", { maxBytes: 200, files: 2 });
    t.poll();
    const before = openFds();
    for (let i = 0; i < 200; i++) {
      appendFileSync(t.path, `line ${i}\n`);
      t.poll();
    }
    expect(openFds()).toBe(before);
    expect(t.lines.length).toBe(200);
  });
});

describe("output tails", () => {
  test("one timer polls every tail until it is finished; finish reads what is left and the last partial line", async () => {
    const errors: string[] = [];
    const tails = new OutputTails((m) => errors.push(m));
    const paths = outputPaths(dir, "app", 0);
    const got: string[] = [];
    const out = new FileTail(paths.stdout, { maxBytes: 1 << 20, files: 1 }, (l) => got.push(`out ${l}`), 0);
    const err = new FileTail(paths.stderr, { maxBytes: 1 << 20, files: 1 }, (l) => got.push(`err ${l}`), 0);
    try {
      tails.add(out);
      tails.add(err);
      appendFileSync(paths.stdout, "hello\n");
      appendFileSync(paths.stderr, "oops\n");
      await waitFor(() => got.length === 2, { what: "both lines tailed" });
      expect(got.sort()).toEqual(["err oops", "out hello"]);
      appendFileSync(paths.stdout, "bye\nno newline");
      tails.finish(out);
      expect(got.slice(2)).toEqual(["out bye", "out no newline"]);
      expect(tails.size).toBe(1);
      tails.finish(err);
      expect(tails.size).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      tails.stop();
    }
  });
});
