import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createCommandProbe, statusForExit } from "../../../../src/health/probes/command.ts";
import { waitFor } from "../../../support/wait-for.ts";

const bun = process.execPath;
const fixtures = join(import.meta.dir, "../../../fixtures");
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("command probe", () => {
  for (const [code, want] of [[0, "passing"], [1, "warning"], [2, "critical"], [127, "critical"]] as const) {
    test(`exit ${code} -> ${want}`, async () => {
      const r = await createCommandProbe()(`echo hello; exit ${code}`, AbortSignal.timeout(10_000));
      expect(r.status).toBe(want);
      expect(r.output).toContain("hello");
    });
  }

  test("a killed command is critical", () => {
    expect(statusForExit(null)).toBe("critical");
  });

  test("output is capped at 4 KiB with a note of the full size", async () => {
    const r = await createCommandProbe({ args: [join(fixtures, "health-noisy-fixture.ts"), "300000", "0"] })(bun, AbortSignal.timeout(20_000));
    expect(r.status).toBe("passing");
    expect(r.output).toContain("(captured 4096 of 300000 bytes)");
    expect(r.output.length).toBeLessThan(4096 + 200);
  });

  test("on timeout the whole process tree is killed, grandchildren included", async () => {
    const ac = new AbortController();
    const probe = createCommandProbe({ args: [join(fixtures, "health-tree-fixture.ts")] });
    const run = probe(bun, ac.signal);
    // Find the fixture's pids through its process group: the grandchild is in the same group.
    let pids: number[] = [];
    await waitFor(() => {
      const ps = Bun.spawnSync(["ps", "-eo", "pid=,pgid=,args="]).stdout.toString();
      const line = ps.split("\n").find((l) => l.includes("health-tree-fixture.ts") && !l.includes("ps -eo"));
      if (!line) return false;
      const pgid = Number(line.trim().split(/\s+/)[1]);
      pids = ps
        .split("\n")
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => Number(f[1]) === pgid)
        .map((f) => Number(f[0]));
      return pids.length >= 2;
    }, { what: "fixture and its grandchild" });
    ac.abort(new DOMException("timed out", "TimeoutError"));
    const r = await run;
    expect(r.status).toBe("critical");
    expect(r.output).toContain("process group killed");
    await waitFor(() => pids.every((p) => !alive(p)), { what: "tree gone" });
  });

  test("the same command never runs twice at once: a second call shares the running one", async () => {
    const probe = createCommandProbe();
    const target = `echo run-$$; sleep 0.2`;
    const [a, b] = await Promise.all([probe(target, AbortSignal.timeout(5000)), probe(target, AbortSignal.timeout(5000))]);
    expect(a).toBe(b);
    const c = await probe(target, AbortSignal.timeout(5000));
    expect(c).not.toBe(a);
  });

  test("a command that cannot start is critical", async () => {
    const r = await createCommandProbe({ args: [] })("/nonexistent/binary", AbortSignal.timeout(5000));
    expect(r.status).toBe("critical");
  });
});
