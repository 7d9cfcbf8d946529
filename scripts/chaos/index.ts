// `npm run chaos [NAME...] [--scale F]`: runs the chaos scenarios (all, or the named ones) one after another against
// the compiled binary, loopback only and bounded in time, and prints each one's figures next to its goal.
// Exit code 1 when a scenario misses its goal or fails to run. --scale shortens (0.3) or lengthens the fault phases.
import { existsSync } from "node:fs";
import { BINARY } from "../../test/support/agent.ts";
import { emptyFigures, type Figures, passed, type Scenario } from "./_harness.ts";
import { SCENARIOS } from "./scenarios.ts";

const args = process.argv.slice(2);
const scaleAt = args.indexOf("--scale");
const scale = scaleAt >= 0 ? Number(args[scaleAt + 1]) : 1;
const names = args.filter((a, i) => !a.startsWith("--") && i !== scaleAt + 1);
if (!Number.isFinite(scale) || scale <= 0) {
  console.error(`--scale: "${args[scaleAt + 1]}" is not a positive number`);
  process.exit(2);
}
const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
if (unknown.length > 0) {
  console.error(`unknown scenario(s) ${unknown.join(", ")}; known: ${SCENARIOS.map((s) => s.name).join(", ")}`);
  process.exit(2);
}
if (!existsSync(BINARY)) {
  console.error(`${BINARY} is missing: run "npm run build" first`);
  process.exit(2);
}

/** A scenario that runs longer than this is stopped and reported as failed to run. */
const SCENARIO_BOUND_MS = 240_000;

const chosen = names.length > 0 ? SCENARIOS.filter((s) => names.includes(s.name)) : SCENARIOS;
const rows: Array<{ s: Scenario; f: Figures; ok: boolean; ms: number }> = [];
for (const s of chosen) {
  const t0 = performance.now();
  process.stderr.write(`chaos: ${s.name} ...\n`);
  let f: Figures;
  try {
    f = await Promise.race([
      s.run({ scale, note: (m) => process.stderr.write(`  ${s.name}: ${m}\n`) }),
      Bun.sleep(SCENARIO_BOUND_MS).then(() => {
        throw new Error(`did not finish within ${SCENARIO_BOUND_MS / 1000} s`);
      }),
    ]);
  } catch (e) {
    process.stderr.write(`  ${s.name}: ${(e as Error).message.slice(0, 3000)}\n`);
    f = { ...emptyFigures(), crashes: -1, notes: `did not run to the end: ${(e as Error).message.split("\n")[0]}` };
  }
  const ms = performance.now() - t0;
  const ok = f.skipped === true || (f.crashes >= 0 && passed(s, f));
  rows.push({ s, f, ok, ms });
  process.stderr.write(`chaos: ${s.name} ${ok ? "met its goal" : "MISSED its goal"} in ${(ms / 1000).toFixed(1)} s\n`);
}

const header = ["scenario", "sent", "failed", "crashes", "state lost", "double-run", "goal met", "s", "notes"];
const table = rows.map(({ s, f, ok, ms }) => [s.name, String(f.sent), String(f.failed), f.crashes < 0 ? "n/a" : String(f.crashes), String(f.stateLost), String(f.doubleRun), f.skipped ? "skipped" : ok ? "yes" : "NO", (ms / 1000).toFixed(0), f.notes]);
const widths = header.map((h, i) => Math.min(i === header.length - 1 ? 200 : 40, Math.max(h.length, ...table.map((r) => r[i]!.length))));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
console.log(line(header));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const r of table) console.log(line(r));
console.log("");
for (const { s } of rows) console.log(`${s.name}: goal: ${s.goal}`);
process.exit(rows.every((r) => r.ok) ? 0 : 1);
