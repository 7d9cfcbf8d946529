// wrk as a load generator for integration tests: started in the background, stopped with SIGINT when the test has
// seen what it waited for (wrk then prints its summary), bounded by a hard deadline; its own counts are parsed.
export interface WrkCounts {
  requests: number;
  non2xx: number;
  /** connect + read + write + timeout, as wrk reports them. */
  socketErrors: number;
  raw: string;
}

export interface WrkRun {
  /** Stops wrk (SIGINT: it reports what it did) and resolves with its counts. */
  stop(): Promise<WrkCounts>;
}

export function parseWrkCounts(raw: string): WrkCounts {
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(raw);
  return {
    requests: Number(/(\d+) requests in/.exec(raw)?.[1] ?? Number.NaN),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(raw)?.[1] ?? 0),
    socketErrors: socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    raw,
  };
}

/**
 * `wrk` against `url` until stop() or `maxSeconds` (its own -d), then killed 10 s later if it still runs. A request
 * slower than `timeoutSeconds` counts as a socket error (wrk's "timeout").
 */
export function startWrk(url: string, opts: { connections?: number; threads?: number; maxSeconds?: number; timeoutSeconds?: number } = {}): WrkRun {
  const max = opts.maxSeconds ?? 60;
  const p = Bun.spawn(["wrk", `-c${opts.connections ?? 16}`, `-t${opts.threads ?? 2}`, `-d${max}s`, `--timeout`, `${opts.timeoutSeconds ?? 10}s`, url], { stdout: "pipe", stderr: "pipe" });
  const guard = setTimeout(() => p.kill("SIGKILL"), (max + 10) * 1000);
  const done = (async () => {
    const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    clearTimeout(guard);
    return parseWrkCounts(out + err);
  })();
  return {
    stop() {
      if (p.exitCode === null) p.kill("SIGINT");
      return done;
    },
  };
}
