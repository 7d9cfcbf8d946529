import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createMemoryCatalogView } from "../../../src/discovery/catalog-view.ts";
import { createDnsResponder } from "../../../src/discovery/dns-responder.ts";
import { createDnsServer, type DnsServer } from "../../../src/discovery/dns-server.ts";
import { createSeededRng } from "../../support/seeded-rng.ts";
import { waitFor } from "../../support/wait-for.ts";
import { decode, query, tcpSession, udpAsk } from "./dns-test-client.ts";

const view = createMemoryCatalogView();
view.set("web", "default", [{ id: "w1", address: "10.0.0.1", port: 8080, weight: 5, health: "passing" }]);
view.set(
  "big",
  "default",
  Array.from({ length: 60 }, (_, i) => ({ id: `b${i}`, address: `10.8.0.${i}`, port: 2000 + i, weight: 1, health: "passing" as const })),
);

let server: DnsServer;
beforeAll(async () => {
  server = await createDnsServer({
    udp: { hostname: "127.0.0.1", port: 0 },
    tcp: { hostname: "127.0.0.1", port: 0 },
    domain: "polis",
    ttl: 5,
    view,
    tcpIdleTimeoutSeconds: 1,
  });
});
afterAll(() => server.stop());

const aData = (b: Buffer) => (decode(b).answers ?? []).map((a) => (a.type === "A" ? a.data : a.type));

describe("dns server over sockets", () => {
  test("both ports 0 on one host name give TCP the same port as UDP", () => {
    expect(server.tcpPort).toBe(server.udpPort);
  });

  test("UDP answers an A query", async () => {
    expect(aData(await udpAsk(server.udpPort, query("web.polis", "A")))).toEqual(["10.0.0.1"]);
  });

  test("clients that close before their answers arrive (ICMP port unreachable) do not disturb the next one", async () => {
    for (let k = 0; k < 5; k++) {
      const gone = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
      for (let i = 0; i < 50; i++) gone.send(query("web.polis", "A"), server.udpPort, "127.0.0.1");
      gone.close();
      await Bun.sleep(0);
    }
    const answer = await waitFor(() => udpAsk(server.udpPort, query("web.polis", "A"), 500), { what: "answer after bounces" });
    expect(aData(answer)).toEqual(["10.0.0.1"]);
  });

  test("UDP truncates a large answer that TCP delivers whole", async () => {
    const udp = decode(await udpAsk(server.udpPort, query("big.polis", "A")));
    expect(udp.flag_tc).toBe(true);
    await using_tcp(async (s) => {
      s.send(query("big.polis", "A"));
      expect(decode(await s.next()).answers).toHaveLength(60);
    });
  });

  test("TCP answers several queries on one connection, in order", async () => {
    await using_tcp(async (s) => {
      s.send(query("web.polis", "A", { id: 1 }));
      s.send(query("nope.polis", "A", { id: 2 }));
      s.send(query("web.polis", "SRV", { id: 3 }));
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push(decode(await s.next()).id);
      expect(ids).toEqual([1, 2, 3]);
    });
  });

  test("TCP reassembles a query split across writes, its length prefix included", async () => {
    await using_tcp(async (s) => {
      const q = query("web.polis", "A", { id: 77 });
      const framed = Buffer.concat([Buffer.from([q.length >> 8, q.length & 255]), q]);
      s.write(framed.subarray(0, 1));
      s.write(framed.subarray(1, 9));
      s.write(framed.subarray(9));
      expect(decode(await s.next()).id).toBe(77);
    });
  });

  // The socket layer checks idle timers every few seconds, so this waits up to ~4 s for a 1 s timeout.
  test("an idle TCP connection is closed by the server", async () => {
    const s = await tcpSession(server.tcpPort);
    try {
      await waitFor(() => Promise.race([s.closed.then(() => true), Bun.sleep(100).then(() => false)]), {
        timeoutMs: 5000,
        what: "idle close",
      });
    } finally {
      s.close();
    }
  });

  test("after random and mutated packets over UDP and TCP the server still answers a good query", async () => {
    const rng = createSeededRng(20261124);
    const byte = () => Math.floor(rng.next() * 256);
    const good = [query("web.polis", "A"), query("_web._tcp.polis", "SRV", { edns: 1232 }), query("big.polis", "A")];
    const packets: Buffer[] = [];
    for (let i = 0; i < 1500; i++) {
      if (i % 2 === 0) {
        packets.push(Buffer.from(Array.from({ length: Math.floor(rng.next() * 80) }, byte)));
      } else {
        const p = Buffer.from(good[i % good.length]);
        for (let k = 0; k < 1 + Math.floor(rng.next() * 4); k++) p[Math.floor(rng.next() * p.length)] = byte();
        packets.push(rng.next() < 0.2 ? p.subarray(0, Math.floor(rng.next() * p.length)) : p);
      }
    }
    const sender = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    try {
      for (let i = 0; i < packets.length; i++) {
        sender.send(packets[i], server.udpPort, "127.0.0.1");
        if (i % 100 === 99) await Bun.sleep(0); // let the server drain its socket between bursts
      }
    } finally {
      sender.close();
    }
    await using_tcp(async (s) => {
      for (const p of packets.slice(0, 300)) s.send(p);
      s.send(query("web.polis", "A", { id: 31337 }));
      // Answers come back in order; garbage gets FORMERR or nothing, so skip until the marker.
      let seen = 0;
      while (decode(await s.next()).id !== 31337) expect(++seen).toBeLessThanOrEqual(300);
    });
    const answer = await waitFor(() => udpAsk(server.udpPort, query("web.polis", "A"), 500), { what: "good answer after fuzz" });
    expect(aData(answer)).toEqual(["10.0.0.1"]);
  });

  test("stop is idempotent", async () => {
    const s = await createDnsServer({
      udp: { hostname: "127.0.0.1", port: 0 },
      tcp: { hostname: "127.0.0.1", port: 0 },
      domain: "polis",
      ttl: 5,
      view,
    });
    s.stop();
    s.stop();
  });
});

describe("dns responder fuzz (in process)", () => {
  test("20,000 random and mutated packets never throw and every answer stays within the UDP limit", () => {
    const responder = createDnsResponder({ domain: "polis", ttl: 5, view, maxCacheEntries: 100 });
    const rng = createSeededRng(7);
    const base = [query("web.polis", "A"), query("big.polis", "A", { edns: 600 }), query("x.addr.polis", "SRV")];
    for (let i = 0; i < 20_000; i++) {
      let p: Buffer;
      if (i % 3 === 0) p = Buffer.from(Array.from({ length: Math.floor(rng.next() * 300) }, () => Math.floor(rng.next() * 256)));
      else {
        p = Buffer.from(base[i % base.length]);
        p[Math.floor(rng.next() * p.length)] = Math.floor(rng.next() * 256);
      }
      const out = responder.respond(p, true);
      if (out !== undefined) expect(out.length).toBeLessThanOrEqual(1232);
    }
    expect(responder.cacheSize).toBeLessThanOrEqual(100);
    expect(aData(Buffer.from(responder.respond(query("web.polis", "A"), true)!))).toEqual(["10.0.0.1"]);
  });
});

async function using_tcp(fn: (s: Awaited<ReturnType<typeof tcpSession>>) => Promise<void>): Promise<void> {
  const s = await tcpSession(server.tcpPort);
  try {
    await fn(s);
  } finally {
    s.close();
  }
}
