// A local OTLP/HTTP metrics receiver for tests: decodes the protobuf requests it gets and keeps them with their headers.

// --- a minimal protobuf wire-format reader: enough to walk an ExportMetricsServiceRequest ---

type WireValue =
  | { readonly wire: 0; readonly n: number }
  | { readonly wire: 1; readonly bytes: Uint8Array }
  | { readonly wire: 2; readonly bytes: Uint8Array }
  | { readonly wire: 5; readonly bytes: Uint8Array };

type Field = WireValue & { readonly no: number };

function varint(buf: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let mul = 1;
  for (;;) {
    if (pos >= buf.length) throw new Error("truncated varint");
    const b = buf[pos++];
    result += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [result, pos];
    mul *= 128;
  }
}

/** Every top-level field of one message, in wire order (repeated fields appear once per element). */
function readFields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [tag, afterTag] = varint(buf, pos);
    pos = afterTag;
    const no = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) {
      const [n, next] = varint(buf, pos);
      out.push({ no, wire, n });
      pos = next;
    } else if (wire === 1 || wire === 5) {
      const len = wire === 1 ? 8 : 4;
      if (pos + len > buf.length) throw new Error("truncated fixed field");
      out.push({ no, wire, bytes: buf.subarray(pos, pos + len) });
      pos += len;
    } else if (wire === 2) {
      const [len, start] = varint(buf, pos);
      if (start + len > buf.length) throw new Error("truncated length-delimited field");
      out.push({ no, wire, bytes: buf.subarray(start, start + len) });
      pos = start + len;
    } else {
      throw new Error(`unsupported wire type ${wire} for field ${no}`);
    }
  }
  return out;
}

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const asDouble = (b: Uint8Array): number => view(b).getFloat64(0, true);
const asFixed64 = (b: Uint8Array): number => Number(view(b).getBigUint64(0, true));
const asSfixed64 = (b: Uint8Array): number => Number(view(b).getBigInt64(0, true));
const asString = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A packed repeated fixed64 or double field (8 bytes per element). */
function packed8<T>(b: Uint8Array, each: (x: Uint8Array) => T): T[] {
  const out: T[] = [];
  for (let i = 0; i + 8 <= b.length; i += 8) out.push(each(b.subarray(i, i + 8)));
  return out;
}

function bytesOf(f: Field): Uint8Array {
  if (f.wire === 0) throw new Error(`field ${f.no} is a varint`);
  return f.bytes;
}

// --- OTLP metrics ---

export type AttrValue = string | number | boolean;

export interface OtlpPoint {
  readonly attributes: Record<string, AttrValue>;
  /** Gauge and sum points. */
  readonly value?: number;
  /** Histogram points. */
  readonly count?: number;
  readonly sum?: number;
  readonly bucketCounts?: number[];
  readonly explicitBounds?: number[];
}

export interface OtlpMetric {
  readonly name: string;
  readonly unit: string;
  readonly kind: "gauge" | "sum" | "histogram" | "other";
  readonly points: OtlpPoint[];
}

export interface OtlpRequest {
  readonly headers: Headers;
  readonly contentType: string;
  readonly resource: Record<string, AttrValue>;
  readonly metrics: OtlpMetric[];
}

// Field numbers from opentelemetry/proto/{collector/metrics/v1,metrics/v1,common/v1,resource/v1}.
function anyValue(buf: Uint8Array): AttrValue {
  for (const f of readFields(buf)) {
    if (f.no === 1 && f.wire === 2) return asString(f.bytes);
    if (f.no === 2 && f.wire === 0) return f.n !== 0;
    if (f.no === 3 && f.wire === 0) return f.n;
    if (f.no === 4 && f.wire === 1) return asDouble(f.bytes);
  }
  return "";
}

function keyValues(fields: Field[], no: number): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const f of fields) {
    if (f.no !== no) continue;
    let key = "";
    let value: AttrValue = "";
    for (const kv of readFields(bytesOf(f))) {
      if (kv.no === 1) key = asString(bytesOf(kv));
      if (kv.no === 2) value = anyValue(bytesOf(kv));
    }
    out[key] = value;
  }
  return out;
}

function numberPoint(buf: Uint8Array): OtlpPoint {
  const fields = readFields(buf);
  let value: number | undefined;
  for (const f of fields) {
    if (f.no === 4 && f.wire === 1) value = asDouble(f.bytes);
    if (f.no === 6 && f.wire === 1) value = asSfixed64(f.bytes);
  }
  return { attributes: keyValues(fields, 7), value };
}

function histogramPoint(buf: Uint8Array): OtlpPoint {
  const fields = readFields(buf);
  let count = 0;
  let sum: number | undefined;
  let bucketCounts: number[] = [];
  let explicitBounds: number[] = [];
  for (const f of fields) {
    if (f.no === 4 && f.wire === 1) count = asFixed64(f.bytes);
    if (f.no === 5 && f.wire === 1) sum = asDouble(f.bytes);
    if (f.no === 6 && f.wire === 2) bucketCounts = packed8(f.bytes, asFixed64);
    if (f.no === 7 && f.wire === 2) explicitBounds = packed8(f.bytes, asDouble);
  }
  return { attributes: keyValues(fields, 9), count, sum, bucketCounts, explicitBounds };
}

function metric(buf: Uint8Array): OtlpMetric {
  let name = "";
  let unit = "";
  let kind: OtlpMetric["kind"] = "other";
  const points: OtlpPoint[] = [];
  for (const f of readFields(buf)) {
    if (f.no === 1) name = asString(bytesOf(f));
    else if (f.no === 3) unit = asString(bytesOf(f));
    else if (f.no === 5 || f.no === 7 || f.no === 9) {
      kind = f.no === 5 ? "gauge" : f.no === 7 ? "sum" : "histogram";
      for (const dp of readFields(bytesOf(f))) {
        if (dp.no === 1) points.push(kind === "histogram" ? histogramPoint(bytesOf(dp)) : numberPoint(bytesOf(dp)));
      }
    }
  }
  return { name, unit, kind, points };
}

/** Decodes an ExportMetricsServiceRequest into its resource attributes and metrics (all scopes flattened). */
export function decodeMetricsRequest(body: Uint8Array): { resource: Record<string, AttrValue>; metrics: OtlpMetric[] } {
  let resource: Record<string, AttrValue> = {};
  const metrics: OtlpMetric[] = [];
  for (const rm of readFields(body)) {
    if (rm.no !== 1) continue;
    for (const f of readFields(bytesOf(rm))) {
      if (f.no === 1) resource = { ...resource, ...keyValues(readFields(bytesOf(f)), 1) };
      if (f.no === 2) {
        for (const sm of readFields(bytesOf(f))) if (sm.no === 2) metrics.push(metric(bytesOf(sm)));
      }
    }
  }
  return { resource, metrics };
}

export interface OtlpReceiver extends AsyncDisposable {
  /** Base URL, e.g. http://127.0.0.1:41234 (requests are accepted on /v1/metrics). */
  readonly url: string;
  readonly requests: readonly OtlpRequest[];
  /** Requests whose body failed to decode, with the reason. */
  readonly failures: readonly string[];
  stop(): Promise<void>;
}

export function startOtlpReceiver(): OtlpReceiver {
  const requests: OtlpRequest[] = [];
  const failures: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      if (req.method !== "POST" || new URL(req.url).pathname !== "/v1/metrics") return new Response("not found", { status: 404 });
      const body = new Uint8Array(await req.arrayBuffer());
      try {
        const decoded = decodeMetricsRequest(body);
        requests.push({ headers: req.headers, contentType: req.headers.get("content-type") ?? "", ...decoded });
      } catch (e) {
        failures.push(e instanceof Error ? e.message : String(e));
        return new Response("bad request", { status: 400 });
      }
      // An empty ExportMetricsServiceResponse: full success.
      return new Response(new Uint8Array(0), { headers: { "content-type": "application/x-protobuf" } });
    },
  });
  const stop = async () => {
    await server.stop(true);
  };
  return {
    url: `http://127.0.0.1:${server.port}`,
    requests,
    failures,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
