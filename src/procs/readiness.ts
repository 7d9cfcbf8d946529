// Readiness by port: a TCP connect to the replica's host (HOST, 127.0.0.1 by default) and port succeeds. Stdout readiness is matched by the replica's line reader.

/** One connect attempt, bounded by `timeoutMs`; resolves true when the port accepted. */
export function canConnect(port: number, timeoutMs = 500, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    Bun.connect({
      hostname: host,
      port,
      socket: {
        open(s) {
          s.end();
          done(true);
        },
        data() {},
        error() {
          done(false);
        },
        connectError() {
          done(false);
        },
      },
    }).catch(() => done(false));
  });
}

/**
 * Poll `port` until it accepts, `cancelled()` turns true, or `timeoutMs` passes.
 * 10 ms between attempts: connection refusal on loopback is immediate, so this is cheap, and it
 * bounds how late we notice readiness (the restart benchmark measures it).
 */
export async function waitForPort(port: number, timeoutMs: number, host: string, cancelled: () => boolean): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!cancelled()) {
    if (await canConnect(port, Math.max(1, Math.min(500, deadline - performance.now())), host)) return true;
    if (performance.now() >= deadline) return false;
    await Bun.sleep(10);
  }
  return false;
}
