// The config overlay: merge patches with named lists merged by name, composed into one patch, kept in a file.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfigText } from "../../../src/config/load.ts";
import { composePatches, overlayAt, overlayPaths, strategicMerge } from "../../../src/config/overlay.ts";

const apps = [
  { name: "web", command: "/bin/web", replicas: 2 },
  { name: "api", command: "/bin/api", replicas: 1 },
];

describe("strategic merge", () => {
  test("a named list merges entry by entry: changing one app needs only its name and the field", () => {
    expect(strategicMerge({ apps }, { apps: [{ name: "api", replicas: 3 }] })).toEqual({ apps: [apps[0], { ...apps[1], replicas: 3 }] });
  });

  test("a new name is appended and {name, $patch: delete} removes an entry", () => {
    expect(strategicMerge({ apps }, { apps: [{ name: "web", $patch: "delete" }, { name: "jobs", command: "/bin/jobs" }] })).toEqual({ apps: [apps[1], { name: "jobs", command: "/bin/jobs" }] });
  });

  test("services merge by namespace and name", () => {
    const services = [{ name: "db", namespace: "a", version: "1" }, { name: "db", namespace: "b", version: "1" }];
    expect(strategicMerge({ services }, { services: [{ name: "db", namespace: "b", version: "2" }] })).toEqual({ services: [services[0], { ...services[1], version: "2" }] });
  });

  test("contrast: a list of plain values is replaced whole, and null deletes a key (RFC 7386)", () => {
    expect(strategicMerge({ args: ["a", "b"], x: 1 }, { args: ["c"], x: null })).toEqual({ args: ["c"] });
  });
});

describe("composed patches", () => {
  const docs = [{ apps }, { apps, agent: { log_level: "info" } }, {}];
  const sequences: Array<[string, unknown[]]> = [
    ["two edits of one app", [{ apps: [{ name: "web", replicas: 3 }] }, { apps: [{ name: "web", command: "/bin/web2" }] }]],
    ["a delete then a re-add", [{ apps: [{ name: "web", $patch: "delete" }] }, { apps: [{ name: "web", command: "/bin/new" }] }]],
    ["a key deleted then set again", [{ agent: null }, { agent: { log_level: "debug" } }]],
    ["a scalar then a merge over it", [{ agent: 5 }, { agent: { log_level: "warn" } }]],
    ["an add then an edit", [{ apps: [{ name: "jobs", command: "/bin/jobs" }] }, { apps: [{ name: "jobs", replicas: 4 }] }]],
  ];
  test.each(sequences)("%s: one composed patch does what the patches did in turn", (_what, patches) => {
    for (const doc of docs) {
      const inTurn = patches.reduce((d, p) => strategicMerge(d, p), doc as unknown);
      const composed = patches.reduce((a, p) => composePatches(a, p), undefined as unknown);
      expect(strategicMerge(doc, composed)).toEqual(inTurn);
    }
  });
});

describe("the overlay file", () => {
  test("is written atomically, read back, and removed; a corrupt file is a config problem naming it", () => {
    const dir = mkdtempSync(join(tmpdir(), "polis-overlay-"));
    try {
      const o = overlayAt(dir);
      expect(o.read()).toEqual({ ok: true, patch: undefined });
      o.write({ agent: { log_level: "debug" } });
      expect(o.read()).toEqual({ ok: true, patch: { agent: { log_level: "debug" } } });
      expect(o.remove()).toBe(true);
      expect(o.remove()).toBe(false);
      writeFileSync(o.file, "{not json");
      const bad = o.read();
      expect(bad.ok).toBe(false);
      if (!bad.ok) expect(bad.problem.message).toContain(o.file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("every load with the overlay applies it on top of the file; paths it sets are named", () => {
    const dir = mkdtempSync(join(tmpdir(), "polis-overlay-"));
    try {
      overlayAt(dir).write({ apps: [{ name: "web", replicas: 3 }] });
      const text = `agent: {data_dir: ${dir}}\napps:\n  - {name: web, command: /bin/true}\n  - {name: api, command: /bin/true}\n`;
      const r = loadConfigText(text, "t.yaml", {}, { overlay: true });
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.loaded.config.apps.map((a) => a.replicas)).toEqual([3, 1]);
      expect(overlayPaths(r.loaded.base, r.loaded.raw)).toEqual(["apps[0].replicas"]);
      const without = loadConfigText(text, "t.yaml", {});
      expect(without.ok && without.loaded.config.apps[0]!.replicas).toBe(1);

      overlayAt(dir).write({ apps: [{ name: "web", replicas: "lots" }] });
      const bad = loadConfigText(text, "t.yaml", {}, { overlay: true });
      expect(bad.ok).toBe(false);
      if (!bad.ok) {
        expect(bad.error.problems[0]!.path).toBe("apps[0].replicas");
        expect(bad.error.problems[0]!.message).toContain("set by the overlay");
        expect(bad.error.problems[0]!.line).toBeUndefined();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
