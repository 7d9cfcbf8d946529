import { createListener } from "./src/balancer/listener.ts";
import { decodeConfig } from "./src/config/load.ts";
const r = decodeConfig({ balancers: [{ name: "b", listen: "127.0.0.1:19900", protocol: "http", algorithm: "round_robin", backends: { endpoints: [{ address: "127.0.0.1:19901" }, { address: "127.0.0.1:19902" }] } }] }, "p.yaml");
if (!r.ok) throw new Error(r.error.message);
const l = await createListener(r.config.balancers[0]!, () => {});
l.setMembers([{ id: "a", address: "127.0.0.1", port: 19901, weight: 1, health: "passing", draining: false }, { id: "b", address: "127.0.0.1", port: 19902, weight: 1, health: "passing", draining: false }]);
console.log("ready");
setTimeout(() => { void l.close(100).then(() => process.exit(0)); }, Number(process.argv[2] ?? 8000));
