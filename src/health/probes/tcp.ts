// TCP probe: connect (Bun.connect); optionally send bytes and wait for a reply containing a substring.
//
// Thousands of these run every second, so one run allocates little: the socket handlers are shared by
// every run of a probe (each socket carries its run as `data`), the run object is itself the abort
// listener, the reply buffer is made only when bytes arrive, and the passing output is built once per
// target. Output for failures is built only for the result that settles the run.
import { createCapture, type Capture } from "../capture.ts";
import { abortReason, OUTPUT_CAP_BYTES, parseHostPort, result, type Probe, type ProbeResult } from "../probe.ts";

export interface TcpProbeOptions {
  /** Bytes (UTF-8 text) written once connected. */
  send?: string;
  /** Substring the reply must contain; without it the connect alone decides. */
  expect?: string;
  /** Bytes of reply kept while looking for `expect` (default 64 KiB). */
  replyCapBytes?: number;
}

type Sock = Bun.Socket<TcpRun>;

const ignore = () => {};

/** One run of the probe: settles once, then ends its socket and stops listening to the signal. */
class TcpRun {
  settled = false;
  sock: Sock | undefined = undefined;
  reply: Capture | undefined = undefined;
  constructor(
    readonly target: string,
    readonly started: number,
    readonly signal: AbortSignal,
    readonly resolve: (r: ProbeResult) => void,
    readonly cap: number,
  ) {}

  finish(r: ProbeResult): void {
    if (this.settled) return;
    this.settled = true;
    this.signal.removeEventListener("abort", this);
    const s = this.sock;
    if (s !== undefined) {
      try {
        s.end();
      } catch {}
    }
    this.resolve(r);
  }

  fail(message: string): void {
    if (!this.settled) this.finish(result("critical", message, this.started));
  }

  /** Abort listener (EventListener object: no closure per run). */
  handleEvent(): void {
    this.fail(`${this.target}: ${abortReason(this.signal)}`);
  }

  /** The reply kept so far, cut to the output cap. */
  text(): string {
    const reply = this.reply;
    if (reply === undefined) return "";
    const t = createCapture(OUTPUT_CAP_BYTES);
    t.push(reply.bytes());
    return t.text(reply.total > t.kept ? String(reply.total) : undefined);
  }
}

export function createTcpProbe(options: TcpProbeOptions = {}): Probe {
  const cap = Math.max(1, options.replyCapBytes ?? 64 * 1024);
  const needle = options.expect;
  const send = options.send;
  // Checks keep their target, so the passing output is one string per target, not one per run.
  let okTarget = "";
  let okOutput = "";
  const passed = (target: string) => {
    if (target !== okTarget) {
      okTarget = target;
      okOutput = `TCP connect ${target}: success`;
    }
    return okOutput;
  };
  const closedEarly = (run: TcpRun) => run.fail(`TCP ${run.target}: closed before "${needle}" arrived\n${run.text()}`);

  const handlers: Bun.SocketHandler<TcpRun> = {
    open(s) {
      const run = s.data;
      run.sock = s;
      if (run.settled) return void s.end();
      if (send !== undefined) s.write(send);
      if (needle === undefined) run.finish(result("passing", passed(run.target), run.started));
    },
    data(s, chunk) {
      const run = s.data;
      if (run.settled) return;
      const reply = (run.reply ??= createCapture(run.cap));
      reply.push(chunk);
      if (needle !== undefined && new TextDecoder().decode(reply.bytes()).includes(needle)) {
        run.finish(result("passing", `TCP ${run.target}: reply matched\n${run.text()}`, run.started));
      } else if (reply.full) {
        run.fail(`TCP ${run.target}: "${needle}" not found in reply\n${run.text()}`);
      }
    },
    end(s) {
      if (!s.data.settled) closedEarly(s.data);
    },
    close(s) {
      if (!s.data.settled) closedEarly(s.data);
    },
    error(s, e) {
      s.data.fail(`TCP ${s.data.target}: ${e.message}`);
    },
    connectError(s, e) {
      s.data.fail(`TCP connect ${s.data.target}: ${e.message}`);
    },
  };

  // Connect-only: settled in open(), so the socket's later events matter to nobody; the fewer handlers
  // a socket carries, the less each connect costs.
  const lean: Bun.SocketHandler<TcpRun> = {
    open: handlers.open,
    data: handlers.data,
    connectError: handlers.connectError,
  };
  const socket = needle === undefined && send === undefined ? lean : handlers;

  let parsedTarget = "";
  let parsed: ReturnType<typeof parseHostPort> = null;

  const probe: Probe = function tcpProbe(target, signal) {
    const started = performance.now();
    if (target !== parsedTarget) {
      parsedTarget = target;
      parsed = parseHostPort(target);
    }
    const hp = parsed;
    if (!hp) return Promise.resolve(result("critical", `invalid target "${target}": want host:port`, started));
    if (signal.aborted) return Promise.resolve(result("critical", `${target}: ${abortReason(signal)}`, started));

    const { promise, resolve } = Promise.withResolvers<ProbeResult>();
    const run = new TcpRun(target, started, signal, resolve, cap);
    signal.addEventListener("abort", run, { once: true });
    // open() runs before this promise resolves and ends the socket of a settled run; a rejection always
    // follows connectError (refused, unreachable, DNS failure), which has already settled the run.
    try {
      Bun.connect({ hostname: hp.host, port: hp.port, data: run, socket }).catch(ignore);
    } catch (e) {
      run.fail(`TCP connect ${target}: ${(e as Error).message}`);
    }
    return promise;
  };
  probe.reusesSignal = true;
  return probe;
}
