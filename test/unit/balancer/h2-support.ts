// gRPC test servers and clients for the HTTP/2 balancer tests: an echo service with unary, server-, client- and
// bidi-streaming methods whose answers name the replica, on raw buffers (no .proto needed).
import * as grpc from "@grpc/grpc-js";
import { createListener, type Listener } from "../../../src/balancer/listener.ts";
import { toBalancerSpec } from "../../../src/config/balancers.ts";
import { decodeConfig } from "../../../src/config/load.ts";

const raw = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
export const ECHO = {
  unary: { path: "/test.Echo/Unary", requestStream: false, responseStream: false, ...raw },
  serverStream: { path: "/test.Echo/ServerStream", requestStream: false, responseStream: true, ...raw },
  clientStream: { path: "/test.Echo/ClientStream", requestStream: true, responseStream: false, ...raw },
  bidi: { path: "/test.Echo/Bidi", requestStream: true, responseStream: true, ...raw },
} as const;
export const EchoClient = grpc.makeGenericClientConstructor(ECHO as unknown as grpc.ServiceDefinition, "Echo");

export interface EchoServer {
  readonly name: string;
  readonly port: number;
  /** Calls that reached this replica. */
  calls: number;
  readonly server: grpc.Server;
  stop(): void;
}

export async function echoServer(name: string): Promise<EchoServer> {
  const server = new grpc.Server();
  const self: EchoServer = {
    name,
    port: 0,
    calls: 0,
    server,
    stop: () => server.forceShutdown(),
  };
  server.addService(ECHO as unknown as grpc.ServiceDefinition, {
    unary(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
      self.calls++;
      const text = call.request.toString();
      if (text === "fail") return cb({ code: grpc.status.FAILED_PRECONDITION, details: `refused by ${name}` });
      cb(null, Buffer.from(`${name}:${text}`));
    },
    serverStream(call: grpc.ServerWritableStream<Buffer, Buffer>) {
      self.calls++;
      const n = Number(call.request.toString());
      let i = 0;
      // Paced by the client's flow control: write until the stream says wait, then resume on drain.
      const pump = () => {
        while (i < n) {
          const ok = call.write(Buffer.from(`${name}:${i++}:${"x".repeat(1000)}`));
          if (!ok) return void call.once("drain", pump);
        }
        call.end();
      };
      pump();
    },
    clientStream(call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
      self.calls++;
      let n = 0;
      let bytes = 0;
      call.on("data", (b: Buffer) => {
        n++;
        bytes += b.length;
      });
      call.on("end", () => cb(null, Buffer.from(`${name}:${n}:${bytes}`)));
    },
    bidi(call: grpc.ServerDuplexStream<Buffer, Buffer>) {
      self.calls++;
      call.on("data", (b: Buffer) => call.write(Buffer.from(`${name}:${b.toString()}`)));
      call.on("end", () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return Object.assign(self, { port });
}

/** A real balancer listener (config -> spec -> createListener) with h2c upstreams. */
export async function h2Listener(extra: Record<string, unknown> = {}): Promise<Listener> {
  const r = decodeConfig({ balancers: [{ name: "g", listen: "127.0.0.1:0", backends: { endpoints: [{ address: "127.0.0.1:1" }] }, upstream_protocol: "h2c", ...extra }] }, "test.yaml");
  if (!r.ok) throw new Error(r.error.message);
  return createListener(toBalancerSpec(r.config.balancers[0]!, r.config, 1), () => {});
}

export const member = (s: EchoServer, extra: Partial<{ health: "passing" | "critical"; draining: boolean }> = {}) => ({
  id: s.name,
  address: "127.0.0.1",
  port: s.port,
  weight: 1,
  health: extra.health ?? ("passing" as const),
  draining: extra.draining ?? false,
});

export function unary(c: grpc.Client, text: string, deadlineMs = 10_000): Promise<{ value?: string; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    (c as unknown as Record<string, Function>).unary(Buffer.from(text), { deadline: Date.now() + deadlineMs }, (e: grpc.ServiceError | null, v: Buffer) => resolve(e ? { error: e } : { value: v.toString() }));
  });
}
