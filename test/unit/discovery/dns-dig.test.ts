// Runs only where /usr/bin/dig exists (the CI image installs dnsutils); tests never install it themselves.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as dnsPacket from "dns-packet";
import { existsSync } from "node:fs";
import { createMemoryCatalogView } from "../../../src/discovery/catalog-view.ts";
import { createDnsServer, type DnsServer } from "../../../src/discovery/dns-server.ts";
import { createSeededRng } from "../../support/seeded-rng.ts";

const DIG = "/usr/bin/dig";

describe.skipIf(!existsSync(DIG))("dns server with the real dig client", () => {
  const view = createMemoryCatalogView();
  view.set("web", "default", [
    { id: "w1", address: "10.0.0.1", port: 8080, weight: 10, health: "passing" },
    { id: "w2", address: "10.0.0.2", port: 8081, weight: 2.4, health: "warning" },
    { id: "w3", address: "10.0.0.3", port: 8082, weight: 1, health: "critical" },
    { id: "w4", address: "fd00::4", port: 8083, weight: 70000, health: "passing" },
  ]);
  view.set("api", "prod", [{ id: "a1", address: "10.1.0.1", port: 9000, weight: 1, health: "passing" }]);
  view.set(
    "big",
    "default",
    Array.from({ length: 50 }, (_, i) => ({ id: `b${i}`, address: `10.7.0.${i}`, port: 3000 + i, weight: 1, health: "passing" as const })),
  );

  let server: DnsServer;
  beforeAll(async () => {
    server = await createDnsServer({
      udp: { hostname: "127.0.0.1", port: 0 },
      tcp: { hostname: "127.0.0.1", port: 0 },
      domain: "polis",
      ttl: 15,
      view,
    });
  });
  afterAll(() => server.stop());

  async function dig(...args: string[]): Promise<string> {
    const proc = Bun.spawn([DIG, "@127.0.0.1", "-p", String(server.udpPort), "+tries=1", "+time=2", ...args], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    return out;
  }
  const lines = (s: string) => s.trim().split("\n").filter(Boolean).sort();
  const status = (s: string) => /status: (\w+)/.exec(s)?.[1];
  const flags = (s: string) => /;; flags: ([a-z ]+);/.exec(s)?.[1].split(" ") ?? [];

  test("A lists the passing and warning IPv4 endpoints", async () => {
    expect(lines(await dig("+short", "web.polis", "A"))).toEqual(["10.0.0.1", "10.0.0.2"]);
  });

  test("AAAA lists the IPv6 endpoint", async () => {
    expect(lines(await dig("+short", "web.polis", "AAAA"))).toEqual(["fd00::4"]);
  });

  test("SRV shows priority 1 and each endpoint's weight, clamped and rounded", async () => {
    expect(lines(await dig("+short", "_web._tcp.polis", "SRV"))).toEqual([
      "1 10 8080 0a000001.addr.polis.",
      "1 2 8081 0a000002.addr.polis.",
      "1 65535 8083 fd000000000000000000000000000004.addr.polis.",
    ]);
  });

  test("SRV targets come with their addresses in the additional section", async () => {
    const out = await dig("+noall", "+additional", "_web._tcp.default.polis", "SRV");
    expect(out).toMatch(/0a000001\.addr\.polis\.\s+15\s+IN\s+A\s+10\.0\.0\.1/);
    expect(out).toMatch(/fd000000000000000000000000000004\.addr\.polis\.\s+15\s+IN\s+AAAA\s+fd00::4/);
  });

  test("a namespaced name resolves", async () => {
    expect(lines(await dig("+short", "api.prod.polis"))).toEqual(["10.1.0.1"]);
  });

  test("an unknown service is NXDOMAIN, with aa set", async () => {
    const out = await dig("nope.polis", "A");
    expect(status(out)).toBe("NXDOMAIN");
    expect(flags(out)).toContain("aa");
  });

  test("TXT on a known service is NODATA: NOERROR, no answer, SOA in authority", async () => {
    const out = await dig("web.polis", "TXT");
    expect(status(out)).toBe("NOERROR");
    expect(out).toMatch(/ANSWER: 0, AUTHORITY: 1/);
    expect(out).toMatch(/polis\.\s+\d+\s+IN\s+SOA\s+ns\.polis\. hostmaster\.polis\./);
  });

  test("a name outside the domain is REFUSED", async () => {
    expect(status(await dig("example.com", "A"))).toBe("REFUSED");
  });

  test("with +ignore a large UDP answer shows the tc flag", async () => {
    const out = await dig("+ignore", "+noedns", "big.polis", "A");
    expect(flags(out)).toContain("tc");
    expect(out).toMatch(/ANSWER: 0,/);
  });

  test("without +ignore dig retries over TCP and gets every record", async () => {
    const out = await dig("+noedns", "big.polis", "A");
    expect(out).toMatch(/ANSWER: 50,/);
    expect(out).toMatch(/\(TCP\)/);
  });

  test("+tcp queries are answered over TCP", async () => {
    const out = await dig("+tcp", "web.polis", "A");
    expect(out).toMatch(/ANSWER: 2,/);
    expect(out).toMatch(/\(TCP\)/);
  });

  test("EDNS0 is answered with an OPT record advertising our UDP size", async () => {
    const out = await dig("+edns=0", "+bufsize=4096", "web.polis", "A");
    expect(out).toMatch(/EDNS: version: 0, flags:; udp: 1232/);
  });

  test("a larger EDNS0 buffer lets the big answer through over UDP", async () => {
    const out = await dig("+ignore", "+bufsize=4096", "big.polis", "A");
    expect(flags(out)).not.toContain("tc");
    expect(out).toMatch(/ANSWER: 50,/);
    expect(out).toMatch(/\(UDP\)/);
  });

  test("names are case-insensitive and the question keeps the asker's case", async () => {
    const out = await dig("WeB.PoLiS", "A");
    expect(out).toMatch(/;WeB\.PoLiS\.\s+IN\s+A/);
    expect(out).toMatch(/ANSWER: 2,/);
  });

  test("after a burst of random and mutated packets dig still gets its answer", async () => {
    const rng = createSeededRng(53);
    const good = Buffer.from(dnsPacket.encode({ type: "query", id: 9, questions: [{ name: "web.polis", type: "A" }] }));
    const sender = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    try {
      for (let i = 0; i < 500; i++) {
        const byte = () => Math.floor(rng.next() * 256);
        const p = i % 2 === 0 ? Buffer.from(Array.from({ length: Math.floor(rng.next() * 64) }, byte)) : Buffer.from(good);
        if (i % 2 === 1) p[Math.floor(rng.next() * p.length)] = byte();
        sender.send(p, server.udpPort, "127.0.0.1");
      }
    } finally {
      sender.close();
    }
    expect(lines(await dig("+short", "+tries=3", "web.polis", "A"))).toEqual(["10.0.0.1", "10.0.0.2"]);
  });

  test("the apex answers its SOA", async () => {
    expect(await dig("+short", "polis", "SOA")).toMatch(/^ns\.polis\. hostmaster\.polis\. \d+ 3600 600 86400 15/);
  });
});
