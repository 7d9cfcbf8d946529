// gRPC probe: the standard grpc.health.v1.Health/Check call (@grpc/grpc-js); SERVING passes.
//
// The two messages are one field each, so they are encoded by hand here instead of loading the proto.
import * as grpc from "@grpc/grpc-js";
import { abortReason, parseHostPort, result, type Probe, type ProbeResult } from "../probe.ts";

export interface GrpcProbeOptions {
  /** Service name asked about; "" (default) means the whole server. */
  service?: string;
  /** Use TLS (default false: plaintext). */
  tls?: boolean;
  /** Verify the server certificate when tls is on (default true). */
  tlsVerify?: boolean;
}

const CHECK_METHOD = "/grpc.health.v1.Health/Check";
const SERVING_STATUS = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"] as const;

/** HealthCheckRequest { string service = 1; } */
export function encodeHealthRequest(service: string): Buffer {
  const name = Buffer.from(service, "utf8");
  if (name.length === 0) return Buffer.alloc(0);
  const len: number[] = [];
  let n = name.length;
  while (n > 0x7f) {
    len.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  len.push(n);
  return Buffer.concat([Buffer.from([0x0a, ...len]), name]);
}

/** HealthCheckResponse { ServingStatus status = 1; } -> the enum number (0 when absent). */
export function decodeHealthResponse(buf: Buffer): number {
  let i = 0;
  let status = 0;
  const varint = () => {
    let v = 0;
    let shift = 0;
    for (;;) {
      if (i >= buf.length) throw new Error("truncated varint");
      const b = buf[i++];
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
    }
  };
  while (i < buf.length) {
    const key = varint();
    const wire = key & 7;
    if (key >>> 3 === 1 && wire === 0) status = varint();
    else if (wire === 0) varint();
    else if (wire === 2) i += varint();
    else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
  return status;
}

export function createGrpcProbe(options: GrpcProbeOptions = {}): Probe {
  const request = encodeHealthRequest(options.service ?? "");
  const creds = options.tls
    ? grpc.credentials.createSsl(null, null, null, { rejectUnauthorized: options.tlsVerify !== false })
    : grpc.credentials.createInsecure();
  const label = options.service ? ` service "${options.service}"` : "";

  return function grpcProbe(target, signal) {
    const started = performance.now();
    if (!parseHostPort(target)) return Promise.resolve(result("critical", `invalid target "${target}": want host:port`, started));
    if (signal.aborted) return Promise.resolve(result("critical", `gRPC ${target}: ${abortReason(signal)}`, started));
    // One client per run: the probe owns no long-lived channel, so removing a check leaks nothing.
    const client = new grpc.Client(target, creds, { "grpc.max_receive_message_length": 64 * 1024 });
    return new Promise<ProbeResult>((resolve) => {
      let settled = false;
      const finish = (r: ProbeResult) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        client.close();
        resolve(r);
      };
      const call = client.makeUnaryRequest(
        CHECK_METHOD,
        (b: Buffer) => b,
        (b: Buffer) => b,
        request,
        new grpc.Metadata(),
        { deadline: Infinity },
        (err, res) => {
          if (err) return finish(result("critical", `gRPC ${target}${label}: ${err.details || err.message}`, started));
          let code: number;
          try {
            code = decodeHealthResponse(res ?? Buffer.alloc(0));
          } catch (e) {
            return finish(result("critical", `gRPC ${target}${label}: bad response: ${(e as Error).message}`, started));
          }
          const name = SERVING_STATUS[code] ?? `status ${code}`;
          finish(result(code === 1 ? "passing" : "critical", `gRPC ${target}${label}: ${name}`, started));
        },
      );
      const onAbort = () => {
        call.cancel();
        finish(result("critical", `gRPC ${target}${label}: ${abortReason(signal)}`, started));
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
  };
}
