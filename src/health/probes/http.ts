// HTTP(S) probe: one request with fetch; status code classes decide, an optional body match must hold.
//
// Defaults follow Consul: any 2xx passes, 429 Too Many Requests warns, anything else is critical. The body
// is read only up to `bodyCapBytes` and the stream is then cancelled, so a server that answers gigabytes
// costs at most that much.
import { createCapture } from "../capture.ts";
import { abortReason, OUTPUT_CAP_BYTES, ProbeOptionsError, result, type Probe } from "../probe.ts";

export interface HttpProbeOptions {
  /** Used when the target has no scheme (default "http"). */
  scheme?: "http" | "https";
  method?: string;
  /** Appended to a target given as host:port or as a URL without a path. */
  path?: string;
  headers?: Record<string, string>;
  /** Codes or "lo-hi" ranges that pass, e.g. [200, "300-399"]. Default: 200-299. */
  expectedStatus?: (number | string)[];
  /** Substring the body must contain. */
  bodyContains?: string;
  /** Regular expression (source) the body must match. */
  bodyRegex?: string;
  /** Bytes of body read at most (default 64 KiB). */
  bodyCapBytes?: number;
  /** Verify the server certificate (default true). */
  tlsVerify?: boolean;
  followRedirects?: boolean;
}

export const HTTP_BODY_CAP_BYTES = 64 * 1024;

type Range = [number, number];

export function parseStatusRanges(list: (number | string)[]): Range[] {
  return list.map((item, i) => {
    const s = String(item).trim();
    const m = /^(\d{3})(?:\s*-\s*(\d{3}))?$/.exec(s);
    if (!m) throw new ProbeOptionsError(`expectedStatus[${i}]`, `"${s}" is not a status code or "lo-hi" range`);
    const lo = Number(m[1]);
    const hi = m[2] ? Number(m[2]) : lo;
    if (lo < 100 || hi > 599 || lo > hi) throw new ProbeOptionsError(`expectedStatus[${i}]`, `"${s}" is outside 100-599`);
    return [lo, hi];
  });
}

export function buildUrl(target: string, scheme: string, path: string | undefined): URL {
  const base = /^[a-z][a-z0-9+.-]*:\/\//i.test(target) ? target : `${scheme}://${target}`;
  const url = new URL(base);
  if (path) url.pathname = (url.pathname.replace(/\/$/, "") + (path.startsWith("/") ? path : `/${path}`)).replace(/^\/\//, "/");
  return url;
}

export function createHttpProbe(options: HttpProbeOptions = {}): Probe {
  const ranges = parseStatusRanges(options.expectedStatus ?? ["200-299"]);
  const cap = Math.max(1, options.bodyCapBytes ?? HTTP_BODY_CAP_BYTES);
  const method = (options.method ?? "GET").toUpperCase();
  let regex: RegExp | undefined;
  try {
    regex = options.bodyRegex === undefined ? undefined : new RegExp(options.bodyRegex);
  } catch (e) {
    throw new ProbeOptionsError("bodyRegex", (e as Error).message);
  }
  const wantsBody = options.bodyContains !== undefined || regex !== undefined;
  const readCap = wantsBody ? cap : Math.min(cap, OUTPUT_CAP_BYTES);

  return async function httpProbe(target, signal) {
    const started = performance.now();
    let url: URL;
    try {
      url = buildUrl(target, options.scheme ?? "http", options.path);
      if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`unsupported scheme ${url.protocol}`);
    } catch (e) {
      return result("critical", `invalid target "${target}": ${(e as Error).message}`, started);
    }
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: options.headers,
        signal,
        redirect: options.followRedirects === false ? "manual" : "follow",
        tls: { rejectUnauthorized: options.tlsVerify !== false },
      });
    } catch (e) {
      const why = signal.aborted ? abortReason(signal) : (e as Error).message;
      return result("critical", `${method} ${url.href}: ${why}`, started);
    }
    const body = createCapture(readCap);
    let complete = true;
    let readError: string | undefined;
    if (res.body) {
      const reader = res.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          body.push(value);
          if (body.total >= readCap) {
            complete = false;
            break;
          }
        }
      } catch (e) {
        readError = signal.aborted ? abortReason(signal) : (e as Error).message;
      } finally {
        reader.cancel().catch(() => {});
      }
    }
    const code = res.status;
    const inRange = ranges.some(([lo, hi]) => code >= lo && code <= hi);
    let status: "passing" | "warning" | "critical" = inRange ? "passing" : code === 429 ? "warning" : "critical";
    let note = "";
    if (readError !== undefined && wantsBody) {
      status = "critical";
      note = `; body read failed: ${readError}`;
    } else if (status === "passing" && wantsBody) {
      const text = new TextDecoder().decode(body.bytes());
      const ok = (options.bodyContains === undefined || text.includes(options.bodyContains)) && (regex === undefined || regex.test(text));
      if (!ok) {
        status = "critical";
        note = `; body did not match within the first ${body.kept} bytes`;
      }
    }
    const length = res.headers.get("content-length");
    const totalHint = complete ? undefined : length !== null ? length : `more than ${body.total}`;
    const snippet = createCapture(OUTPUT_CAP_BYTES);
    snippet.push(body.bytes());
    const shown = snippet.text(totalHint ?? (snippet.total > snippet.kept ? String(body.total) : undefined));
    return result(status, `${method} ${url.href} -> ${code} ${res.statusText}${note}\n${shown}`, started);
  };
}
