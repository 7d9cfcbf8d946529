// Rolling rollout overhead: the compiled agent runs 4 replicas of the demo app behind its balancer; each round
// deploys a new revision (an env change) with max_surge 1, max_unavailable 0 and min_healthy_time 0, and compares
// the rollout's duration (started_at -> ended_at, the agent's own clock) with the sum of the 4 new replicas'
// spawn-to-ready times (their proc.ready events). Goal: <= 1.3x.
// Usage: bun scripts/bench/deploy.ts [--rounds 8]   (needs dist/polis: npm run build)
import { freePort, loadAverage, median, portRange, startAgent } from "./_agent.ts";

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const ROUNDS = arg("rounds", 8);
const REPLICAS = 4;

const lbPort = freePort();
const [from, to] = portRange();
await using agent = await startAgent({
  config: {
    apps: [{ name: "demo", command: "@self", args: ["demo-app"], env: { VERSION: "0" }, replicas: REPLICAS, port: { range: [from, to] }, readiness: { kind: "port", timeout: "10s" }, stop: { timeout: "5s" }, deploy: { max_surge: 1, max_unavailable: 0, min_healthy_time: 0 } }],
    balancers: [{ name: "web", listen: `127.0.0.1:${lbPort}`, protocol: "http", backends: { app: "demo" } }],
  },
});
const deadline = Date.now() + 30_000;
while (((await (await agent.api("/v1/apps/demo")).json()) as { ready: number }).ready < REPLICAS) {
  if (Date.now() > deadline) throw new Error("demo app never got 4 ready replicas");
  await Bun.sleep(50);
}

interface Ev { seq: number; type: string; data?: { app?: string; id?: number; afterMs?: number } }
const events = async (since: number) => ((await (await agent.api(`/v1/events?since=${since}&limit=10000`)).json()) as { events: Ev[] }).events;
const load = loadAverage();
const ratios: number[] = [];
const rolls: number[] = [];
const readies: number[] = [];
let seq = (await events(0)).reduce((m, e) => Math.max(m, e.seq), 0);
for (let round = 1; round <= ROUNDS; round++) {
  const res = await agent.api("/v1/apps/demo/deployments", { method: "POST", body: JSON.stringify({ spec: { env: { VERSION: String(round) } } }) });
  if (res.status !== 202) throw new Error(`deploy answered ${res.status}: ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  let r: { active: boolean; status: string; started_at: string; ended_at: string | null };
  for (;;) {
    r = (await (await agent.api(`/v1/apps/demo/deployments/${id}`)).json()) as typeof r;
    if (!r.active) break;
    await Bun.sleep(20);
  }
  if (r.status !== "succeeded") throw new Error(`rollout ${id} ended ${r.status}`);
  const evs = (await events(seq)).filter((e) => e.data?.app === "demo");
  seq = evs.reduce((m, e) => Math.max(m, e.seq), seq);
  const ready = evs.filter((e) => e.type === "proc.ready").reduce((s, e) => s + (e.data?.afterMs ?? 0), 0);
  const roll = Date.parse(r.ended_at!) - Date.parse(r.started_at);
  rolls.push(roll);
  readies.push(ready);
  ratios.push(roll / ready);
  await Bun.sleep(200);
}
console.log(`load average at start: ${load}; ${REPLICAS} replicas, max_surge 1, max_unavailable 0, min_healthy_time 0, ${ROUNDS} rollouts`);
console.log(`rollout: median ${median(rolls)} ms (${rolls.join(", ")}); sum of the new replicas' spawn-to-ready: median ${median(readies)} ms (${readies.join(", ")})`);
console.log(`ratio rollout / sum of spawn-to-ready: median ${median(ratios).toFixed(2)}x (${ratios.map((x) => x.toFixed(2)).join(", ")}); goal <= 1.3x`);
console.log(JSON.stringify({ rounds: ROUNDS, load, rolls, readies, ratios }));
