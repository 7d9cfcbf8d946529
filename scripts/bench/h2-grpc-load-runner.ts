// Helper of h2.ts: `serve PORT` runs a grpc-js echo server; `PORT SECONDS` runs a unary load client (one channel,
// 64 calls in flight) for that long and prints {rps, failed} as JSON.
import * as grpc from "@grpc/grpc-js";

const raw = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
const def = { unary: { path: "/bench.Echo/Unary", requestStream: false, responseStream: false, ...raw } } as unknown as grpc.ServiceDefinition;
const [a, b] = process.argv.slice(2);

if (a === "serve") {
  const server = new grpc.Server();
  server.addService(def, { unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request) });
  server.bindAsync(`127.0.0.1:${b}`, grpc.ServerCredentials.createInsecure(), (e) => {
    if (e) throw e;
  });
} else {
  const Client = grpc.makeGenericClientConstructor(def, "Echo");
  const c = new Client(`127.0.0.1:${a}`, grpc.credentials.createInsecure()) as unknown as { unary(b: Buffer, cb: (e: unknown) => void): void; close(): void };
  const until = Date.now() + Number(b) * 1000;
  const payload = Buffer.alloc(64, 1);
  let ok = 0;
  let failed = 0;
  const loop = () =>
    new Promise<void>((resolve) => {
      const next = () => {
        if (Date.now() >= until) return resolve();
        c.unary(payload, (e) => {
          if (e) failed++;
          else ok++;
          next();
        });
      };
      next();
    });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 64 }, loop));
  const secs = (performance.now() - t0) / 1000;
  c.close();
  console.log(JSON.stringify({ rps: ok / secs, failed }));
  process.exit(0);
}
