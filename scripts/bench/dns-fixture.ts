// The fixed catalog both DNS benchmark servers answer: Polis's DNS server and dnsmasq get the same records.
import type { ViewEndpoint } from "../../src/discovery/catalog-view.ts";

export interface BenchService {
  name: string;
  endpoints: ViewEndpoint[];
}

export const BENCH_SERVICES = 20;
export const BENCH_ENDPOINTS_PER_SERVICE = 3;

export function benchServices(): BenchService[] {
  return Array.from({ length: BENCH_SERVICES }, (_, s) => ({
    name: `svc${s}`,
    endpoints: Array.from({ length: BENCH_ENDPOINTS_PER_SERVICE }, (_, e) => ({
      id: `svc${s}-${e}`,
      address: `10.${s}.0.${e + 1}`,
      port: 8000 + e,
      weight: 1,
      health: "passing" as const,
    })),
  }));
}

/** dnsperf query file: A for every service, SRV for every service, and a few unknown names. */
export function benchQueries(domain: string): string {
  const lines: string[] = [];
  for (const s of benchServices()) {
    lines.push(`${s.name}.${domain} A`, `${s.name}.${domain} A`, `${s.name}.${domain} A`, `_${s.name}._tcp.${domain} SRV`);
  }
  for (let i = 0; i < 8; i++) lines.push(`missing${i}.${domain} A`);
  return lines.join("\n") + "\n";
}

/** dnsmasq arguments serving the same A and SRV records (one --host-record per address). */
export function dnsmasqRecordArgs(domain: string): string[] {
  const args: string[] = [];
  for (const s of benchServices()) {
    for (const e of s.endpoints) {
      const host = `${s.name}-${e.port}.addr.${domain}`;
      args.push(`--host-record=${s.name}.${domain},${e.address}`, `--host-record=${host},${e.address}`);
      args.push(`--srv-host=_${s.name}._tcp.${domain},${host},${e.port},1,${e.weight}`);
    }
  }
  return args;
}
