// UDP probe: send a payload, pass when a reply containing `expect` arrives before the signal aborts.
//
// UDP has no connection, so silence is the usual failure: the checker's timeout ends the probe. The socket
// is connected to the target so only its replies count (and the kernel may report port unreachable).
import { createCapture } from "../capture.ts";
import { abortReason, OUTPUT_CAP_BYTES, parseHostPort, result, type Probe, type ProbeResult } from "../probe.ts";

export interface UdpProbeOptions {
  /** Datagram sent (UTF-8 text, default "ping"). */
  payload?: string;
  /** Substring a reply must contain; when absent any reply passes. */
  expect?: string;
}

export function createUdpProbe(options: UdpProbeOptions = {}): Probe {
  const payload = options.payload ?? "ping";
  return async function udpProbe(target, signal) {
    const started = performance.now();
    const hp = parseHostPort(target);
    if (!hp) return result("critical", `invalid target "${target}": want host:port`, started);
    if (signal.aborted) return result("critical", `UDP ${target}: ${abortReason(signal)}`, started);

    let resolveFn!: (r: ProbeResult) => void;
    const done = new Promise<ProbeResult>((r) => (resolveFn = r));
    let settled = false;
    const finish = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      resolveFn(r);
    };
    const onAbort = () => finish(result("critical", `UDP ${target}: no matching reply (${abortReason(signal)})`, started));
    signal.addEventListener("abort", onAbort, { once: true });
    let socket: { close(): void } | undefined;
    try {
      const s = await Bun.udpSocket({
        connect: { hostname: hp.host, port: hp.port },
        socket: {
          data(_sock, buf) {
            const cap = createCapture(OUTPUT_CAP_BYTES);
            cap.push(buf);
            const text = new TextDecoder().decode(buf);
            if (options.expect === undefined || text.includes(options.expect)) {
              finish(result("passing", `UDP ${target}: reply matched\n${cap.text()}`, started));
            }
          },
          error(_sock, e) {
            // Bun reports ICMP port unreachable on a connected socket without an Error object.
            const why = (e as Error | undefined)?.message ?? "port unreachable";
            finish(result("critical", `UDP ${target}: ${why}`, started));
          },
        },
      });
      socket = s;
      if (!settled) s.send(payload);
      return await done;
    } catch (e) {
      finish(result("critical", `UDP ${target}: ${(e as Error).message}`, started));
      return await done;
    } finally {
      signal.removeEventListener("abort", onAbort);
      socket?.close();
    }
  };
}
