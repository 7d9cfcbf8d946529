// The compiled agent for the benches: the integration tests' launcher, plus a free port for a balancer listener.
import { readFileSync } from "node:fs";

export { type RunningAgent, startAgent } from "../../test/support/agent.ts";

/** A port nobody holds right now (a balancer listening on port 0 cannot report the port it got). */
export function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = s;
  s.stop(true);
  return port;
}

/** An app port range unlikely to collide with other runs, below the ephemeral range (where client sockets live). */
export function portRange(): [number, number] {
  const base = 21_000 + Math.floor(Math.random() * 110) * 100;
  return [base, base + 99];
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

export function loadAverage(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}
