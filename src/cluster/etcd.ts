// A small etcd v3 client over etcd's JSON gateway (`/v3/...` on the client port, etcd 3.4+): ranges, puts, txns,
// leases and one streaming watch. Why the gateway and not the `etcd3` npm client: `etcd3` rides on @grpc/grpc-js and
// loads its .proto files from node_modules at run time, which a `bun build --compile` binary does not carry into a
// worker's embedded file system; the gateway is plain HTTP/1.1 + JSON that Bun's fetch speaks (TLS and client
// certificates included), costs no dependency, and keeps the same semantics (revisions, leases, compare-and-swap,
// watch from a revision). Its quirks: keys and values are base64, 64-bit numbers are strings, zero fields are omitted.
//
// Endpoints are tried in order from the last one that answered; a call that reaches none fails with
// EtcdError("unreachable"). Nothing here retries on its own schedule: the runner (agent.ts) owns backoff.
import { Buffer } from "node:buffer";

export type EtcdErrorReason = "unreachable" | "auth" | "compacted" | "lease_not_found" | "failed";

export class EtcdError extends Error {
  constructor(
    readonly reason: EtcdErrorReason,
    message: string,
    readonly compactRevision?: string,
  ) {
    super(message);
    this.name = "EtcdError";
  }
}

export interface EtcdOptions {
  readonly endpoints: readonly string[];
  readonly dialTimeoutMs: number;
  readonly username?: string;
  readonly password?: string;
  /** PEM contents, not paths. */
  readonly tls?: { readonly ca?: string; readonly cert?: string; readonly key?: string };
  readonly fetch?: typeof fetch;
}

export interface KeyValue {
  readonly key: string;
  readonly value: string;
  readonly modRevision: string;
  readonly createRevision: string;
  readonly lease: string;
}

export type Compare =
  | { readonly key: string; readonly target: "LEASE"; readonly lease: string }
  /** The key's create revision (0: the key does not exist): fences a holder to the key it created. */
  | { readonly key: string; readonly target: "CREATE"; readonly createRevision: string }
  | { readonly key: string; readonly target: "VERSION"; readonly version: number; readonly result?: "EQUAL" | "GREATER" };
export type TxnOp = { readonly put: { key: string; value: string; lease?: string } } | { readonly delete: { key: string; rangeEnd?: string } };

export type WatchEvent = { readonly type: "put"; readonly key: string; readonly value: string; readonly modRevision: string; readonly createRevision?: string } | { readonly type: "delete"; readonly key: string; readonly modRevision: string };

export interface EtcdStatus {
  readonly endpoint: string;
  readonly version: string;
  readonly leader: string;
  readonly memberId: string;
  readonly clusterId: string;
  readonly revision: string;
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const unb64 = (s: string | undefined) => (s ? Buffer.from(s, "base64").toString("utf8") : "");

/** The range end that covers every key starting with `prefix` (its last byte incremented). */
export function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, "utf8");
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const out = bytes.subarray(0, i + 1);
      out[i]! += 1;
      return out.toString("latin1");
    }
  }
  return "\0";
}
/** Range ends are raw bytes; latin1 keeps a byte a byte. */
const b64Raw = (s: string) => Buffer.from(s, "latin1").toString("base64");

type Json = Record<string, unknown>;

/** Certificate errors of the TLS stack that mean "the server's certificate is not one we trust". */
const UNTRUSTED = new Set(["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT", "UNABLE_TO_GET_ISSUER_CERT", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "CERT_HAS_EXPIRED", "ERR_TLS_CERT_ALTNAME_INVALID", "CERT_UNTRUSTED"]);

/**
 * Why a request to `base` failed below HTTP, in terms of the config to fix. A server that requires client certificates
 * (`--client-cert-auth`) ends the handshake of a client without an acceptable one, which Bun reports as EPROTO.
 */
export function describeFetchError(base: string, e: unknown, hasClientCert: boolean): string {
  const code = String((e as { code?: unknown }).code ?? "");
  const msg = (e as Error).message ?? String(e);
  if (base.startsWith("https://") && code === "EPROTO")
    return `${base}: TLS handshake refused: ${hasClientCert ? "etcd did not accept this agent's client certificate (cluster.etcd.tls.cert_file: is it signed by a CA that etcd's --trusted-ca-file holds, for clientAuth?)" : "etcd requires a client certificate and none is configured (cluster.etcd.tls.cert_file and key_file)"}`;
  if (UNTRUSTED.has(code)) return `${base}: etcd's server certificate is not trusted (${msg}; cluster.etcd.tls.ca_file names the CA that signed it)`;
  return `${base}: ${msg}`;
}

export interface EtcdClient {
  /** The endpoint that answered last. */
  readonly endpoint: string;
  range(key: string, opts?: { prefix?: boolean; revision?: string }): Promise<{ kvs: KeyValue[]; revision: string }>;
  put(key: string, value: string, lease?: string): Promise<string>;
  txn(compare: readonly Compare[], success: readonly TxnOp[], failure?: readonly TxnOp[]): Promise<{ succeeded: boolean; revision: string }>;
  grant(ttlSeconds: number): Promise<string>;
  /** The lease's remaining TTL in seconds; 0 when the lease no longer exists. */
  keepAlive(id: string): Promise<number>;
  revoke(id: string): Promise<void>;
  status(): Promise<EtcdStatus>;
  /**
   * Streams events for `key` (a prefix when `prefix`) from `startRevision` until the stream ends, `signal` aborts,
   * or an error; `onEvents` gets each batch with the revision it brings the watcher to. Throws
   * EtcdError("compacted") when the start revision is gone.
   */
  watch(key: string, opts: { prefix: boolean; startRevision: string; signal: AbortSignal; onCreated?: () => void }, onEvents: (events: WatchEvent[], revision: string) => void): Promise<void>;
}

export function createEtcdClient(opts: EtcdOptions): EtcdClient {
  const doFetch = opts.fetch ?? fetch;
  let current = 0;
  let token: string | undefined;
  const hasClientCert = opts.tls?.cert !== undefined;
  const tls = opts.tls && (opts.tls.ca || opts.tls.cert) ? { tls: { ...(opts.tls.ca ? { ca: opts.tls.ca } : {}), ...(opts.tls.cert ? { cert: opts.tls.cert, key: opts.tls.key } : {}) } } : {};

  const post = async (base: string, path: string, body: unknown, signal: AbortSignal): Promise<Response> =>
    doFetch(`${base}${path}`, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json", ...(token ? { authorization: token } : {}) },
      signal,
      ...tls,
    } as RequestInit);

  const authenticate = async (base: string, signal: AbortSignal) => {
    if (opts.username === undefined) return;
    const r = await doFetch(`${base}/v3/auth/authenticate`, { method: "POST", body: JSON.stringify({ name: opts.username, password: opts.password ?? "" }), headers: { "content-type": "application/json" }, signal, ...tls } as RequestInit);
    const j = (await r.json().catch(() => ({}))) as Json;
    if (!r.ok || typeof j.token !== "string") throw new EtcdError("auth", `etcd at ${base} refused user ${opts.username}: ${String(j.message ?? j.error ?? r.status)}`);
    token = j.token;
  };

  const failure = (base: string, status: number, j: Json): EtcdError => {
    const msg = String(j.message ?? j.error ?? `HTTP ${status}`);
    if (/lease not found/.test(msg)) return new EtcdError("lease_not_found", msg);
    if (/compacted/.test(msg)) return new EtcdError("compacted", msg);
    if (status === 401 || /auth|permission denied|invalid auth token/.test(msg)) return new EtcdError("auth", `etcd at ${base}: ${msg}`);
    return new EtcdError("failed", `etcd at ${base}: ${msg}`);
  };

  /** One JSON call, trying each endpoint once from the last good one; a server's own error is not retried elsewhere. */
  async function call(path: string, body: unknown, timeoutMs = opts.dialTimeoutMs): Promise<Json> {
    const n = opts.endpoints.length;
    let last = "no endpoint configured";
    for (let i = 0; i < n; i++) {
      const idx = (current + i) % n;
      const base = opts.endpoints[idx]!;
      const signal = AbortSignal.timeout(timeoutMs);
      let r: Response;
      try {
        if (opts.username !== undefined && token === undefined) await authenticate(base, signal);
        r = await post(base, path, body, signal);
        if (r.status === 401 && opts.username !== undefined) {
          token = undefined;
          await authenticate(base, signal);
          r = await post(base, path, body, signal);
        }
      } catch (e) {
        if (e instanceof EtcdError) throw e;
        last = describeFetchError(base, e, hasClientCert);
        continue;
      }
      const j = (await r.json().catch(() => ({}))) as Json;
      current = idx;
      if (!r.ok) throw failure(base, r.status, j);
      return j;
    }
    throw new EtcdError("unreachable", `no etcd endpoint answered (${last})`);
  }

  const kv = (x: Json): KeyValue => ({ key: unb64(x.key as string), value: unb64(x.value as string | undefined), modRevision: String(x.mod_revision ?? "0"), createRevision: String(x.create_revision ?? "0"), lease: String(x.lease ?? "0") });
  const headerRevision = (j: Json) => String((j.header as Json | undefined)?.revision ?? "0");
  const op = (o: TxnOp) =>
    "put" in o
      ? { request_put: { key: b64(o.put.key), value: b64(o.put.value), ...(o.put.lease ? { lease: o.put.lease } : {}) } }
      : { request_delete_range: { key: b64(o.delete.key), ...(o.delete.rangeEnd ? { range_end: b64Raw(o.delete.rangeEnd) } : {}) } };
  const cmp = (c: Compare) =>
    c.target === "LEASE" ? { target: "LEASE", key: b64(c.key), result: "EQUAL", lease: c.lease } : c.target === "CREATE" ? { target: "CREATE", key: b64(c.key), result: "EQUAL", create_revision: c.createRevision } : { target: "VERSION", key: b64(c.key), result: c.result ?? "EQUAL", version: String(c.version) };

  return {
    get endpoint() {
      return opts.endpoints[current] ?? "";
    },
    async range(key, o = {}) {
      const j = await call("/v3/kv/range", { key: b64(key), ...(o.prefix ? { range_end: b64Raw(prefixEnd(key)) } : {}), ...(o.revision ? { revision: o.revision } : {}) }, Math.max(opts.dialTimeoutMs, 10_000));
      return { kvs: ((j.kvs as Json[] | undefined) ?? []).map(kv), revision: headerRevision(j) };
    },
    async put(key, value, lease) {
      return headerRevision(await call("/v3/kv/put", { key: b64(key), value: b64(value), ...(lease ? { lease } : {}) }));
    },
    async txn(compare, success, fail = []) {
      const j = await call("/v3/kv/txn", { compare: compare.map(cmp), success: success.map(op), failure: fail.map(op) });
      return { succeeded: j.succeeded === true, revision: headerRevision(j) };
    },
    async grant(ttl) {
      const j = await call("/v3/lease/grant", { TTL: String(ttl) });
      if (typeof j.ID !== "string") throw new EtcdError("failed", `lease grant answered without an ID: ${String(j.error ?? "")}`);
      return j.ID;
    },
    async keepAlive(id) {
      const j = await call("/v3/lease/keepalive", { ID: id });
      const result = (j.result as Json | undefined) ?? {};
      return Number(result.TTL ?? 0);
    },
    async revoke(id) {
      try {
        await call("/v3/lease/revoke", { ID: id });
      } catch (e) {
        if (!(e instanceof EtcdError && e.reason === "lease_not_found")) throw e;
      }
    },
    async status() {
      const j = await call("/v3/maintenance/status", {});
      const h = (j.header as Json | undefined) ?? {};
      return { endpoint: opts.endpoints[current] ?? "", version: String(j.version ?? ""), leader: String(j.leader ?? ""), memberId: String(h.member_id ?? ""), clusterId: String(h.cluster_id ?? ""), revision: String(h.revision ?? "0") };
    },
    async watch(key, o, onEvents) {
      const n = opts.endpoints.length;
      let res: Response | undefined;
      let last = "";
      for (let i = 0; i < n && !res; i++) {
        const idx = (current + i) % n;
        const base = opts.endpoints[idx]!;
        // The dial timeout bounds the connect and the answer's head; the stream itself lives until aborted.
        const ctrl = new AbortController();
        const onAbort = () => ctrl.abort();
        o.signal.addEventListener("abort", onAbort, { once: true });
        const dial = setTimeout(onAbort, opts.dialTimeoutMs);
        try {
          if (opts.username !== undefined && token === undefined) await authenticate(base, ctrl.signal);
          const r = await post(base, "/v3/watch", { create_request: { key: b64(key), ...(o.prefix ? { range_end: b64Raw(prefixEnd(key)) } : {}), start_revision: o.startRevision, progress_notify: true } }, ctrl.signal);
          if (!r.ok) throw failure(base, r.status, (await r.json().catch(() => ({}))) as Json);
          res = r;
          current = idx;
        } catch (e) {
          o.signal.removeEventListener("abort", onAbort);
          if (e instanceof EtcdError) throw e;
          if (o.signal.aborted) return;
          last = describeFetchError(base, e, hasClientCert);
        } finally {
          clearTimeout(dial);
        }
      }
      if (!res?.body) throw new EtcdError("unreachable", `no etcd endpoint accepted a watch (${last})`);
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buf = "";
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          buf += decoder.decode(value, { stream: true });
          let nl: number;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line === "") continue;
            let msg: Json;
            try {
              msg = JSON.parse(line) as Json;
            } catch {
              throw new EtcdError("failed", `watch stream sent a line that is not JSON (${line.slice(0, 80)})`);
            }
            if (msg.error) throw failure(opts.endpoints[current] ?? "", 500, msg.error as Json);
            const r = (msg.result as Json | undefined) ?? {};
            if (r.compact_revision && r.compact_revision !== "0") throw new EtcdError("compacted", `watch start revision ${o.startRevision} was compacted (now ${String(r.compact_revision)})`, String(r.compact_revision));
            if (r.canceled) throw new EtcdError("failed", `etcd cancelled the watch: ${String(r.cancel_reason ?? "no reason given")}`);
            if (r.created) o.onCreated?.();
            const events = ((r.events as Json[] | undefined) ?? []).map((e): WatchEvent => {
              const k = kv((e.kv as Json | undefined) ?? {});
              return e.type === "DELETE" ? { type: "delete", key: k.key, modRevision: k.modRevision } : { type: "put", key: k.key, value: k.value, modRevision: k.modRevision, createRevision: k.createRevision };
            });
            onEvents(events, headerRevision(r));
          }
          // A line longer than any record we write means something else is talking: do not buffer without bound.
          if (buf.length > 4 * 1024 * 1024) throw new EtcdError("failed", "watch stream line exceeds 4 MiB");
        }
      } catch (e) {
        if (o.signal.aborted) return;
        if (e instanceof EtcdError) throw e;
        throw new EtcdError("unreachable", `watch stream broke: ${(e as Error).message}`);
      } finally {
        reader.cancel().catch(() => {});
      }
    },
  };
}
