// Parsing a DNS query: the hand-written reader in src/discovery/dns-query.ts against dns-packet's decode, the library
// beside it. The hand-written reader stays only while it is clearly cheaper on this, the per-query hot path.
//   bun scripts/bench/dns-parse.ts [--iterations N]
import dnsPacket from "dns-packet";
import { createParsedQuery, parseQuery, QUERY_OK } from "../../src/discovery/dns-query.ts";

const arg = process.argv.indexOf("--iterations");
const N = arg > 0 ? Number(process.argv[arg + 1]) : 1_000_000;

const queries = [
  { type: "A", name: "demo.polis" },
  { type: "SRV", name: "_http._tcp.web.default.polis" },
  { type: "AAAA", name: "api.default.polis" },
].map((q) =>
  dnsPacket.encode({ type: "query", id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ ...q, class: "IN" } as dnsPacket.Question], additionals: [{ type: "OPT", name: ".", udpPayloadSize: 1232 } as unknown as dnsPacket.Answer] }),
);

function time(label: string, f: (b: Buffer) => unknown): number {
  for (let i = 0; i < 50_000; i++) f(queries[i % 3]!);
  const t0 = Bun.nanoseconds();
  let sink = 0;
  for (let i = 0; i < N; i++) sink += f(queries[i % 3]!) ? 1 : 0;
  const ns = (Bun.nanoseconds() - t0) / N;
  console.log(`${label.padEnd(24)} ${ns.toFixed(1)} ns/query (${sink === N ? "all parsed" : "MISSED"})`);
  return ns;
}

const q = createParsedQuery();
const rounds: Array<[number, number]> = [];
for (let r = 0; r < 3; r++) {
  const own = time("hand-written parseQuery", (b) => parseQuery(b, q) === QUERY_OK && q.name.length > 0);
  const lib = time("dns-packet decode", (b) => dnsPacket.decode(b).questions?.[0]?.name);
  rounds.push([own, lib]);
}
const ratios = rounds.map(([own, lib]) => lib / own);
console.log(`dns-packet / hand-written per round: ${ratios.map((x) => x.toFixed(1) + "x").join(", ")}`);
