// File probe: the file exists; optionally it changed recently and its content matches a regex.
import { open, stat } from "node:fs/promises";
import { abortReason, result, ProbeOptionsError, type Probe } from "../probe.ts";

export interface FileProbeOptions {
  /** Critical when the file was last modified longer ago than this. */
  maxAgeMs?: number;
  /** Regular expression (source) the first `readCapBytes` of the file must match. */
  contentRegex?: string;
  readCapBytes?: number;
  /** Wall-clock now (ms since epoch) for the age check; tests pass a fixed one. */
  now?: () => number;
}

export function createFileProbe(options: FileProbeOptions = {}): Probe {
  let regex: RegExp | undefined;
  try {
    regex = options.contentRegex === undefined ? undefined : new RegExp(options.contentRegex);
  } catch (e) {
    throw new ProbeOptionsError("contentRegex", (e as Error).message);
  }
  const cap = Math.max(1, options.readCapBytes ?? 64 * 1024);
  const now = options.now ?? Date.now;

  return async function fileProbe(target, signal) {
    const started = performance.now();
    if (signal.aborted) return result("critical", `file ${target}: ${abortReason(signal)}`, started);
    let info;
    try {
      info = await stat(target);
    } catch (e) {
      return result("critical", `file ${target}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, started);
    }
    if (!info.isFile()) return result("critical", `file ${target}: not a regular file`, started);
    const age = now() - info.mtimeMs;
    if (options.maxAgeMs !== undefined && age > options.maxAgeMs) {
      return result("critical", `file ${target}: last modified ${Math.round(age)} ms ago (max ${options.maxAgeMs})`, started);
    }
    if (regex) {
      const fh = await open(target, "r").catch((e: Error) => e);
      if (fh instanceof Error) return result("critical", `file ${target}: ${fh.message}`, started);
      try {
        const buf = Buffer.alloc(Math.min(cap, info.size));
        const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
        const text = buf.subarray(0, bytesRead).toString("utf8");
        if (!regex.test(text)) {
          return result("critical", `file ${target}: content does not match /${regex.source}/ (checked ${bytesRead} of ${info.size} bytes)`, started);
        }
      } finally {
        await fh.close();
      }
    }
    return result("passing", `file ${target}: ok (${info.size} bytes, modified ${Math.round(age)} ms ago)`, started);
  };
}
