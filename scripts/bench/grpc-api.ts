// Admin API latency: the same call (GetApp / GET /v1/apps/demo) over gRPC and over REST on the compiled agent,
// sequential calls alternated in blocks, p50 and p99 of each. Usage: bun scripts/bench/grpc-api.ts [--calls 2000]
import * as grpc from "@grpc/grpc-js";
import { bearer, polis } from "../../test/support/grpc-client.ts";
import { freePort, loadAverage, startAgent } from "./_agent.ts";

const i = process.argv.indexOf("--calls");
const CALLS = i > 0 ? Number(process.argv[i + 1]) : 2000;
const TOKEN = "bench-token-0123456789abcdef";
const grpcPort = freePort();
await using agent = await startAgent({
  env: { POLIS_API_TOKEN: TOKEN },
  config: { api: { grpc: { listen: `127.0.0.1:${grpcPort}` } }, apps: [{ name: "demo", command: "@self", args: ["demo-app"], replicas: 1 }] },
});
const apps = new polis.AppsService(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
const md = bearer(TOKEN);
const viaGrpc = () => new Promise<void>((resolve, reject) => apps.GetApp({ name: "demo" }, md, (e: unknown) => (e ? reject(e) : resolve())));
const viaRest = async () => {
  const r = await fetch(`${agent.url}/v1/apps/demo`, { headers: { authorization: `Bearer ${TOKEN}` } });
  if (!r.ok) throw new Error(`REST ${r.status}`);
  await r.arrayBuffer();
};
const samples: Record<"grpc" | "rest", number[]> = { grpc: [], rest: [] };
for (let w = 0; w < 200; w++) {
  await viaGrpc();
  await viaRest();
}
for (let block = 0; block < 20; block++) {
  for (const [name, call] of [["grpc", viaGrpc], ["rest", viaRest]] as const) {
    for (let n = 0; n < CALLS / 20; n++) {
      const t = performance.now();
      await call();
      samples[name].push(performance.now() - t);
    }
  }
}
apps.close();
const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * p)]!;
console.log(`GetApp vs GET /v1/apps/demo, ${CALLS} sequential calls each, alternated in 20 blocks (load ${loadAverage()})`);
for (const name of ["grpc", "rest"] as const) console.log(`  ${name.padEnd(5)} p50 ${q(samples[name], 0.5).toFixed(3)} ms   p99 ${q(samples[name], 0.99).toFixed(3)} ms`);
