// Shared by the API, events, DNS, metrics, config and CLI integration tests: a demo-app agent and free loopback ports.
import { type RunningAgent, type StartOptions, startAgent } from "../support/agent.ts";
import { freeTcpUdpPort } from "../support/ports.ts";
import { waitFor } from "../support/wait-for.ts";

export type Json = Record<string, any>;

/** A port free for both TCP and UDP on 127.0.0.1, for listeners that cannot report a port-0 bind (support/ports.ts). */
export const freePort = freeTcpUdpPort;

/** A replica port range unlikely to collide with another test's (the procs worker skips busy ports anyway). */
function replicaRange(): [number, number] {
  // Below the ephemeral range (32768+), where outgoing connections would hold ports the replicas need.
  const base = 10_000 + Math.floor(Math.random() * 220) * 100;
  return [base, base + 99];
}

export interface DemoOptions extends StartOptions {
  replicas?: { min: number; max: number };
  /** Listen address of the "web" HTTP balancer in front of the demo app (omit for none). */
  balancerListen?: string;
}

/** The demo app (this binary's `demo-app`) with an HTTP check per replica; waits until `min` replicas are ready. */
export async function startDemoAgent(opts: DemoOptions = {}): Promise<RunningAgent> {
  const replicas = opts.replicas ?? { min: 2, max: 4 };
  const user = opts.config ?? {};
  const agent = await startAgent({
    ...opts,
    config: {
      ...user,
      apps: [
        {
          name: "demo",
          command: "@self",
          args: ["demo-app"],
          replicas,
          port: { range: replicaRange() },
          readiness: { kind: "port", timeout: "10s" },
          stop: { timeout: "3s" },
          checks: [{ name: "http", kind: "http", path: "/healthz", interval: "1s", timeout: "500ms" }],
        },
        ...((user.apps as unknown[]) ?? []),
      ],
      balancers: opts.balancerListen ? [{ name: "web", listen: opts.balancerListen, protocol: "http", backends: { app: "demo" } }] : [],
    },
  });
  try {
    await waitFor(
      async () => {
        const svc = await getJson(agent, "/v1/services/default/demo");
        return svc.endpoints?.filter((e: Json) => e.health === "passing").length >= replicas.min;
      },
      { timeoutMs: 35_000, what: `${replicas.min} passing demo endpoints` },
    );
  } catch (e) {
    // Say what the agent was doing: the last log lines show whether replicas failed, crash-looped or never bound.
    const tail = agent.lines.slice(-25).map((l) => JSON.stringify(l)).join("\n");
    await agent[Symbol.asyncDispose]();
    throw new Error(`${(e as Error).message}\nlast agent log lines:\n${tail}`);
  }
  return agent;
}

export async function getJson(agent: RunningAgent, path: string): Promise<Json> {
  const res = await agent.api(path);
  return (await res.json()) as Json;
}

/** Sends JSON with the agent's admin token; returns status and parsed body. */
export async function send(agent: RunningAgent, method: string, path: string, body?: unknown, token = agent.token): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${agent.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: Json;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { raw: text };
  }
  return { status: res.status, body: parsed };
}
