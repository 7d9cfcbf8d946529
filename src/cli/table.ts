// Plain-text tables for CLI output (columns padded to the widest cell; colour escapes take no width).
import { visible } from "./output.ts";

export function table(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<unknown>>): string {
  // One line per row: newlines and tabs inside a value would break the columns.
  const cells = rows.map((r) => r.map((v) => (v === undefined || v === null ? "-" : String(v).replace(/[\r\n\t]+/g, " "))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => visible(r[i] ?? "").length)));
  const line = (r: readonly string[]) => r.map((v, i) => v + " ".repeat(Math.max(0, widths[i]! - visible(v).length))).join("  ").trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...cells.map(line)].join("\n");
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "-";
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "-";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v >= 10 || u === 0 ? 0 : 1)}${units[u]}`;
}
