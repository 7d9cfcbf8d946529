// An HTTP/1.1 request/response pair (node:http) seen as the subset of ServerHttp2Stream that h2-front's exchange
// uses: HTTP/1.1 clients of a balancer whose endpoints speak only HTTP/2 (upstream_protocol h2c/h2) get each
// request proxied as one upstream stream, trailers included (chunked encoding).
import { EventEmitter } from "node:events";
import type http from "node:http";
import type http2 from "node:http2";

/** Request headers HTTP/2 has no place for (hop-by-hop in HTTP/1.1). */
const HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host", "te", "trailer"]);

export class H1Stream extends EventEmitter {
  readonly endAfterHeaders: boolean;
  readonly headers: http2.IncomingHttpHeaders;
  readonly session = undefined;
  private wantsTrailers = false;

  constructor(private readonly req: http.IncomingMessage, private readonly res: http.ServerResponse, scheme: string) {
    super();
    const h = req.headers;
    const te = h["transfer-encoding"];
    this.endAfterHeaders = te === undefined && (h["content-length"] === undefined || h["content-length"] === "0");
    const out: http2.IncomingHttpHeaders = { ":method": req.method ?? "GET", ":path": req.url ?? "/", ":scheme": scheme, ":authority": h.host ?? "" };
    for (const k in h) if (!HOP.has(k)) out[k] = h[k];
    // A client that says it takes trailers (te: trailers, as gRPC does) gets them.
    if (typeof h.te === "string" && h.te.toLowerCase().includes("trailers")) out.te = "trailers";
    this.headers = out;
    req.on("data", (c: Buffer) => this.emit("data", c));
    req.on("end", () => this.emit("end"));
    req.on("error", () => {});
    res.on("close", () => this.emit("close"));
    res.on("drain", () => this.emit("drain"));
    res.on("error", () => {});
  }

  get destroyed(): boolean {
    return this.res.destroyed;
  }
  get headersSent(): boolean {
    return this.res.headersSent;
  }
  get writableEnded(): boolean {
    return this.res.writableEnded;
  }
  pause(): this {
    this.req.pause();
    return this;
  }
  resume(): this {
    this.req.resume();
    return this;
  }
  respond(h: http2.OutgoingHttpHeaders, opts: { endStream?: boolean; waitForTrailers?: boolean } = {}): void {
    const headers: Record<string, string | string[]> = {};
    for (const k in h) if (k[0] !== ":" && !HOP.has(k) && h[k] !== undefined) headers[k] = h[k] as string | string[];
    // Trailers need chunked encoding: no Content-Length then.
    if (opts.waitForTrailers) delete headers["content-length"];
    this.wantsTrailers = opts.waitForTrailers === true;
    this.res.writeHead(Number(h[":status"] ?? 200), headers);
    if (opts.endStream) this.res.end();
  }
  write(chunk: Buffer): boolean {
    return this.res.write(chunk);
  }
  end(body?: string): void {
    if (body !== undefined) this.res.write(body);
    if (this.wantsTrailers) this.emit("wantTrailers");
    this.res.end();
  }
  sendTrailers(t: http2.OutgoingHttpHeaders): void {
    const out: Record<string, string> = {};
    for (const k in t) if (t[k] !== undefined) out[k] = String(t[k]);
    if (Object.keys(out).length > 0) this.res.addTrailers(out);
  }
  close(): void {
    this.res.destroy();
  }
}
