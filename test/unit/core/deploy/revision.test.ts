import { describe, expect, test } from "bun:test";
import { canonicalJson, prune, recordRevision, revisionHash } from "../../../../src/core/deploy/revision.ts";

const meta = (now: number, pinned: number[] = [], keep = 3) => ({ source: "config" as const, by: "file", now, keep, pinned });

describe("revisions", () => {
  test("the hash ignores key order and changes with any value", () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: [1, 2] } })).toBe('{"a":{"c":[1,2],"d":2},"b":1}');
    expect(revisionHash({ command: "x", env: { A: "1", B: "2" } })).toBe(revisionHash({ env: { B: "2", A: "1" }, command: "x" }));
    expect(revisionHash({ command: "x", env: { A: "1" } })).not.toBe(revisionHash({ command: "x", env: { A: "2" } }));
    expect(revisionHash({ command: "x" })).toMatch(/^[0-9a-f]{16}$/);
  });

  test("equal fields reuse their revision; new fields get the next number", () => {
    const a = recordRevision([], { command: "v1" }, meta(1));
    expect(a).toMatchObject({ created: true, revision: { number: 1, source: "config", createdAt: 1 } });
    const b = recordRevision(a.history, { command: "v2" }, meta(2));
    expect(b.revision.number).toBe(2);
    const again = recordRevision(b.history, { command: "v1" }, meta(3));
    expect(again).toMatchObject({ created: false, revision: { number: 1 } });
    expect(again.history).toBe(b.history);
  });

  test("history keeps the newest N and never drops a pinned revision", () => {
    let h = recordRevision([], { v: 1 }, meta(1)).history;
    for (let v = 2; v <= 5; v++) h = recordRevision(h, { v }, meta(v, [1])).history;
    expect(h.map((r) => r.number)).toEqual([1, 4, 5]);
    expect(prune(h, 2, []).map((r) => r.number)).toEqual([4, 5]);
  });
});
