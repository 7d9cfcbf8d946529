// wrk for the benches: installed with apt-get when missing, run bounded, its summary parsed.
export interface WrkResult {
  requests: number;
  rps: number;
  non2xx: number;
  socketErrors: number;
  p99Ms: number | null;
  raw: string;
}

export async function ensureWrk(): Promise<void> {
  if (Bun.which("wrk")) return;
  console.log("installing wrk (apt-get)");
  const p = Bun.spawn(["sh", "-c", "apt-get update -qq && apt-get install -y -qq wrk"], { stdout: "inherit", stderr: "inherit" });
  if ((await p.exited) !== 0 || !Bun.which("wrk")) throw new Error("apt-get install wrk failed");
}

const toMs = (v: string, unit: string) => Number(v) * ({ us: 0.001, ms: 1, s: 1000 }[unit] ?? 1);

export function parseWrk(raw: string): WrkResult {
  const num = (re: RegExp) => Number(re.exec(raw)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(raw);
  const p99 = /\s99%\s+([\d.]+)(us|ms|s)/.exec(raw);
  return {
    requests: num(/(\d+) requests in/),
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/),
    socketErrors: socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    p99Ms: p99 ? toMs(p99[1]!, p99[2]!) : null,
    raw,
  };
}

/** Starts wrk; the promise resolves when it ends (it is killed if it overruns its duration by 10 s). */
export function startWrk(url: string, seconds: number, connections = 50, threads = 2): Promise<WrkResult> {
  const p = Bun.spawn(["wrk", `-c${connections}`, `-t${threads}`, `-d${seconds}s`, "--latency", url], { stdout: "pipe", stderr: "pipe" });
  const guard = setTimeout(() => p.kill("SIGKILL"), (seconds + 10) * 1000);
  return (async () => {
    const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    clearTimeout(guard);
    return parseWrk(out + err);
  })();
}
