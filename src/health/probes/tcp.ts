// TCP probe: connect (Bun.connect); optionally send bytes and wait for a reply containing a substring.
import { createCapture } from "../capture.ts";
import { abortReason, OUTPUT_CAP_BYTES, parseHostPort, result, type Probe, type ProbeResult } from "../probe.ts";

export interface TcpProbeOptions {
  /** Bytes (UTF-8 text) written once connected. */
  send?: string;
  /** Substring the reply must contain; without it the connect alone decides. */
  expect?: string;
  /** Bytes of reply kept while looking for `expect` (default 64 KiB). */
  replyCapBytes?: number;
}

export function createTcpProbe(options: TcpProbeOptions = {}): Probe {
  const cap = Math.max(1, options.replyCapBytes ?? 64 * 1024);
  const needle = options.expect;

  return function tcpProbe(target, signal) {
    const started = performance.now();
    const hp = parseHostPort(target);
    if (!hp) return Promise.resolve(result("critical", `invalid target "${target}": want host:port`, started));
    if (signal.aborted) return Promise.resolve(result("critical", `${target}: ${abortReason(signal)}`, started));

    return new Promise<ProbeResult>((resolve) => {
      const reply = createCapture(cap);
      let settled = false;
      let sock: { end(): void } | undefined;
      const finish = (r: ProbeResult) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        try {
          sock?.end();
        } catch {}
        resolve(r);
      };
      const onAbort = () => finish(result("critical", `${target}: ${abortReason(signal)}`, started));
      signal.addEventListener("abort", onAbort, { once: true });
      const text = () => {
        const t = createCapture(OUTPUT_CAP_BYTES);
        t.push(reply.bytes());
        return t.text(reply.total > t.kept ? String(reply.total) : undefined);
      };

      Bun.connect({
        hostname: hp.host,
        port: hp.port,
        socket: {
          open(s) {
            sock = s;
            if (settled) return void s.end();
            if (options.send !== undefined) s.write(options.send);
            if (needle === undefined) finish(result("passing", `TCP connect ${target}: success`, started));
          },
          data(_s, chunk) {
            reply.push(chunk);
            if (needle !== undefined && new TextDecoder().decode(reply.bytes()).includes(needle)) {
              finish(result("passing", `TCP ${target}: reply matched\n${text()}`, started));
            } else if (reply.full) {
              finish(result("critical", `TCP ${target}: "${needle}" not found in reply\n${text()}`, started));
            }
          },
          end() {
            finish(result("critical", `TCP ${target}: closed before "${needle}" arrived\n${text()}`, started));
          },
          close() {
            finish(result("critical", `TCP ${target}: closed before "${needle}" arrived\n${text()}`, started));
          },
          error(_s, e) {
            finish(result("critical", `TCP ${target}: ${e.message}`, started));
          },
          connectError(_s, e) {
            finish(result("critical", `TCP connect ${target}: ${e.message}`, started));
          },
        },
      }).then(
        (s) => {
          sock = s;
          if (settled) s.end();
        },
        (e: Error) => finish(result("critical", `TCP connect ${target}: ${e.message}`, started)),
      );
    });
  };
}
