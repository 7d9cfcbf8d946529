// Command probe (Nagios plugin convention): exit 0 passes, 1 warns, anything else is critical.
//
// The command runs in its own process group (detached) so that on abort the whole tree is killed with
// one signal to -pid; a plain kill of the child would leave its grandchildren running. stdout and stderr
// are captured together up to 4 KiB and drained past that, so a chatty command never blocks on a full
// pipe. One target never runs twice at once: a second call while one runs shares the running one.
import { createCapture, type Capture } from "../capture.ts";
import { abortReason, OUTPUT_CAP_BYTES, result, type Probe, type ProbeResult } from "../probe.ts";

export interface CommandProbeOptions {
  /** When given, run [target, ...args] directly; otherwise run target with `sh -c`. */
  args?: string[];
  cwd?: string;
  env?: Record<string, string>;
  outputCapBytes?: number;
}

/** How long pipes may stay open after the command exits (a background grandchild can hold them). */
const PIPE_GRACE_MS = 200;

async function drain(stream: ReadableStream<Uint8Array>, into: Capture): Promise<void> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      into.push(value);
    }
  } catch {
    // the stream was cancelled or broke: what was captured stays
  } finally {
    reader.releaseLock();
  }
}

export function statusForExit(code: number | null): "passing" | "warning" | "critical" {
  return code === 0 ? "passing" : code === 1 ? "warning" : "critical";
}

export function createCommandProbe(options: CommandProbeOptions = {}): Probe {
  const cap = Math.max(1, options.outputCapBytes ?? OUTPUT_CAP_BYTES);
  const running = new Map<string, Promise<ProbeResult>>();

  async function runOnce(target: string, signal: AbortSignal): Promise<ProbeResult> {
    const started = performance.now();
    if (signal.aborted) return result("critical", `command: ${abortReason(signal)}`, started);
    if (target.trim() === "") return result("critical", "command: empty command line", started);
    const argv = options.args ? [target, ...options.args] : ["/bin/sh", "-c", target];
    let proc: ReturnType<typeof Bun.spawn<"ignore", "pipe", "pipe">>;
    try {
      proc = Bun.spawn(argv, {
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
        detached: true,
        cwd: options.cwd,
        env: options.env ? { ...process.env, ...options.env } : undefined,
      });
    } catch (e) {
      return result("critical", `command "${target}" did not start: ${(e as Error).message}`, started);
    }
    const killTree = () => {
      try {
        process.kill(-proc.pid, "SIGKILL");
      } catch {
        // already gone
      }
    };
    signal.addEventListener("abort", killTree, { once: true });
    const out = createCapture(cap);
    const streams = [proc.stdout, proc.stderr];
    const pipes = Promise.all(streams.map((s) => drain(s, out)));
    try {
      const code = await proc.exited;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([pipes, new Promise((r) => (timer = setTimeout(r, PIPE_GRACE_MS)))]);
      clearTimeout(timer);
      for (const s of streams) s.cancel().catch(() => {});
      const text = out.text();
      if (signal.aborted) return result("critical", `command "${target}" ${abortReason(signal)}; process group killed\n${text}`, started);
      const how = proc.signalCode ? `killed by ${proc.signalCode}` : `exit ${code}`;
      return result(statusForExit(proc.signalCode ? null : code), `${how}\n${text}`, started);
    } finally {
      signal.removeEventListener("abort", killTree);
    }
  }

  return function commandProbe(target, signal) {
    const inFlight = running.get(target);
    if (inFlight) return inFlight;
    const p = runOnce(target, signal).finally(() => running.delete(target));
    running.set(target, p);
    return p;
  };
}
