import { describe, expect, test } from "bun:test";
import type { Answer, SrvAnswer, StringAnswer } from "dns-packet";
import { createMemoryCatalogView, type ViewEndpoint } from "../../../src/discovery/catalog-view.ts";
import { createDnsResponder, type DnsResponderOptions } from "../../../src/discovery/dns-responder.ts";
import { decode, query } from "./dns-test-client.ts";

function ep(id: string, address: string, port: number, weight = 1, health: ViewEndpoint["health"] = "passing"): ViewEndpoint {
  return { id, address, port, weight, health };
}

function setup(extra: Partial<DnsResponderOptions> = {}) {
  const view = createMemoryCatalogView();
  view.set("web", "default", [
    ep("w1", "10.0.0.1", 8080, 10),
    ep("w2", "fd00::2", 8081, 3.6, "warning"),
    ep("w3", "10.0.0.3", 8082, 1, "critical"),
  ]);
  view.set("api", "prod", [ep("a1", "10.1.0.1", 9000, 70000), ep("a2", "10.1.0.2", 9001, -4)]);
  view.set("empty", "default", []);
  const responder = createDnsResponder({ domain: "polis", ttl: 30, negativeTtl: 7, view, ...extra });
  const ask = (packet: Buffer, udp = true) => {
    const out = responder.respond(packet, udp);
    return out === undefined ? undefined : decode(Buffer.from(out));
  };
  return { view, responder, ask };
}

const data = (answers: Answer[] | undefined) => (answers ?? []).map((a) => (a as StringAnswer).data);

describe("dns responder", () => {
  test("A answers the IPv4 passing and warning endpoints, never critical ones", () => {
    const r = setup().ask(query("web.polis", "A"))!;
    expect(r.rcode).toBe("NOERROR");
    expect(r.flag_aa).toBe(true);
    expect(r.id).toBe(4242);
    expect(data(r.answers)).toEqual(["10.0.0.1"]);
    expect(r.answers![0].type === "A" && r.answers![0].ttl).toBe(30);
  });

  test("AAAA answers the IPv6 endpoints, a warning one included", () => {
    const r = setup().ask(query("web.polis", "AAAA"))!;
    expect(data(r.answers)).toEqual(["fd00::2"]);
  });

  test("onlyPassing drops warning endpoints too", () => {
    const r = setup({ onlyPassing: true }).ask(query("web.polis", "AAAA"))!;
    expect(r.rcode).toBe("NOERROR");
    expect(r.answers).toHaveLength(0);
  });

  test("NAME.NAMESPACE.polis resolves in that namespace and NAME.polis in default", () => {
    const { ask } = setup();
    expect(data(ask(query("api.prod.polis", "A"))!.answers)).toEqual(["10.1.0.1", "10.1.0.2"]);
    expect(ask(query("api.polis", "A"))!.rcode).toBe("NXDOMAIN");
    expect(data(ask(query("web.default.polis", "A"))!.answers)).toEqual(["10.0.0.1"]);
  });

  test("SRV carries priority 1, clamped weights, ports and hex targets with addresses in additionals", () => {
    const r = setup().ask(query("_api._tcp.prod.polis", "SRV"))!;
    const srv = (r.answers as SrvAnswer[]).map((a) => a.data);
    expect(srv).toEqual([
      { priority: 1, weight: 65535, port: 9000, target: "0a010001.addr.polis" },
      { priority: 1, weight: 0, port: 9001, target: "0a010002.addr.polis" },
    ]);
    expect(r.additionals!.map((a) => [a.name, (a as StringAnswer).data])).toEqual([
      ["0a010001.addr.polis", "10.1.0.1"],
      ["0a010002.addr.polis", "10.1.0.2"],
    ]);
  });

  test("plain NAME.polis SRV answers like the _NAME._tcp form and rounds fractional weights", () => {
    const r = setup().ask(query("web.polis", "SRV"))!;
    expect((r.answers as SrvAnswer[]).map((a) => [a.data.weight, a.data.port])).toEqual([
      [10, 8080],
      [4, 8081],
    ]);
  });

  test("address names from SRV targets resolve on their own", () => {
    const { ask } = setup();
    expect(data(ask(query("0a010001.addr.polis", "A"))!.answers)).toEqual(["10.1.0.1"]);
    expect(data(ask(query("fd000000000000000000000000000002.addr.polis", "AAAA"))!.answers)).toEqual(["fd00::2"]);
    expect(ask(query("zz.addr.polis", "A"))!.rcode).toBe("NXDOMAIN");
  });

  test("an unknown name under the domain is NXDOMAIN with the SOA in authority", () => {
    const r = setup().ask(query("nope.polis", "A"))!;
    expect(r.rcode).toBe("NXDOMAIN");
    expect(r.flag_aa).toBe(true);
    expect(r.authorities!.map((a) => [a.type, a.name, a.type === "SOA" && a.data.minimum])).toEqual([["SOA", "polis", 7]]);
  });

  test("an unsupported type on a known name is NODATA: NOERROR, no answers, SOA in authority", () => {
    const r = setup().ask(query("web.polis", "TXT"))!;
    expect(r.rcode).toBe("NOERROR");
    expect(r.answers).toHaveLength(0);
    expect(r.authorities!.map((a) => a.type)).toEqual(["SOA"]);
  });

  test("a known service with no answerable endpoint is NODATA, not NXDOMAIN", () => {
    expect(setup().ask(query("empty.polis", "A"))!.rcode).toBe("NOERROR");
  });

  test("a name outside the domain is REFUSED without the AA bit", () => {
    const r = setup().ask(query("example.com", "A"))!;
    expect(r.rcode).toBe("REFUSED");
    expect(r.flag_aa).toBe(false);
    expect(r.questions).toEqual([{ name: "example.com", type: "A", class: "IN" }]);
  });

  test("a look-alike suffix is outside the domain (notpolis is not polis)", () => {
    expect(setup().ask(query("web.notpolis", "A"))!.rcode).toBe("REFUSED");
  });

  test("zone transfers are REFUSED: the catalog is not offered as a zone", () => {
    expect(setup().ask(query("polis", "AXFR"))!.rcode).toBe("REFUSED");
  });

  test("the apex answers its SOA", () => {
    const r = setup().ask(query("polis", "SOA"))!;
    expect(r.answers!.map((a) => a.type)).toEqual(["SOA"]);
  });

  test("ANY on a service answers its A and AAAA records", () => {
    const r = setup().ask(query("web.polis", "ANY"))!;
    expect(r.answers!.map((a) => a.type).sort()).toEqual(["A", "AAAA"]);
  });

  test("names are case-insensitive and the question is echoed in the asker's case", () => {
    const { ask } = setup();
    ask(query("web.polis", "A")); // fills the cache in lower case
    const r = ask(query("WeB.PoLiS", "A", { id: 7 }))!;
    expect(r.id).toBe(7);
    expect(r.questions![0].name).toBe("WeB.PoLiS");
    expect(data(r.answers)).toEqual(["10.0.0.1"]);
  });

  test("the RD bit is echoed from the query and RA is never set", () => {
    const { ask } = setup();
    expect(ask(query("web.polis", "A", { rd: true }))!.flag_rd).toBe(true);
    const r = ask(query("web.polis", "A", { rd: false }))!;
    expect(r.flag_rd).toBe(false);
    expect(r.flag_ra).toBe(false);
  });

  test("an EDNS0 query gets an OPT record back and a plain one does not", () => {
    const { ask } = setup();
    const withOpt = ask(query("web.polis", "A", { edns: 4096 }))!;
    expect(withOpt.additionals!.map((a) => a.type)).toEqual(["OPT"]);
    expect(ask(query("web.polis", "A"))!.additionals).toHaveLength(0);
  });

  test("an EDNS version other than 0 is answered BADVERS", () => {
    const packet = query("web.polis", "A", { edns: 1232 });
    packet[packet.length - 5] = 1; // OPT TTL byte 2: version
    const r = setup().ask(packet)!;
    const opt = r.additionals!.find((a) => a.type === "OPT");
    expect(opt?.type === "OPT" && opt.extendedRcode).toBe(1);
  });

  test("successive answers rotate the records so each endpoint comes first in turn", () => {
    const { view, ask } = setup();
    view.set("rr", "default", [ep("r1", "10.2.0.1", 1), ep("r2", "10.2.0.2", 1), ep("r3", "10.2.0.3", 1)]);
    const firsts = Array.from({ length: 6 }, () => data(ask(query("rr.polis", "A"))!.answers)[0]);
    expect(firsts).toEqual(["10.2.0.1", "10.2.0.2", "10.2.0.3", "10.2.0.1", "10.2.0.2", "10.2.0.3"]);
    expect(data(ask(query("rr.polis", "A"))!.answers).sort()).toEqual(["10.2.0.1", "10.2.0.2", "10.2.0.3"]);
  });

  test("a large set rotates through at most 16 starting points, spread over the set", () => {
    const { view, ask } = setup();
    view.set("wide", "default", Array.from({ length: 64 }, (_, i) => ep(`x${i}`, `10.3.0.${i}`, 1)));
    const firsts = new Set(Array.from({ length: 40 }, () => data(ask(query("wide.polis", "A"), false)!.answers)[0]));
    expect(firsts.size).toBe(16);
    expect(firsts.has("10.3.0.60")).toBe(true);
  });

  test("answer owner names are compressed to a pointer at the question (16 bytes per A record)", () => {
    const { responder } = setup();
    const packet = query("web.polis", "A");
    const out = responder.respond(packet, true)!;
    expect(out.length).toBe(packet.length + 16);
    expect([out[packet.length], out[packet.length + 1]]).toEqual([0xc0, 0x0c]);
  });

  describe("truncation", () => {
    function many(n: number) {
      const s = setup();
      s.view.set("big", "default", Array.from({ length: n }, (_, i) => ep(`b${i}`, `10.9.${i >> 8}.${i & 255}`, 1000 + i)));
      return s;
    }

    test("over UDP an answer beyond 512 bytes sets TC and carries no records", () => {
      const r = many(40).ask(query("big.polis", "A"))!;
      expect(r.flag_tc).toBe(true);
      expect(r.answers).toHaveLength(0);
      expect(r.questions![0].name).toBe("big.polis");
    });

    test("over TCP the same answer is complete", () => {
      const r = many(40).ask(query("big.polis", "A"), false)!;
      expect(r.flag_tc).toBe(false);
      expect(r.answers).toHaveLength(40);
    });

    test("an EDNS0 buffer size lets a larger UDP answer through, up to the server's maximum", () => {
      const { ask } = many(40);
      const r = ask(query("big.polis", "A", { edns: 4096 }))!;
      expect(r.flag_tc).toBe(false);
      expect(r.answers).toHaveLength(40);
      const huge = many(200).ask(query("big.polis", "A", { edns: 65000 }))!;
      expect(huge.flag_tc).toBe(true);
      expect(huge.additionals!.map((a) => a.type)).toEqual(["OPT"]);
    });

    test("an EDNS0 size below 512 is treated as 512", () => {
      const r = many(10).ask(query("big.polis", "A", { edns: 100 }))!;
      expect(r.flag_tc).toBe(false);
    });
  });

  describe("cache", () => {
    test("a catalog change (new version) is answered at once, not from the cache", () => {
      const { view, ask, responder } = setup();
      expect(data(ask(query("web.polis", "A"))!.answers)).toEqual(["10.0.0.1"]);
      expect(responder.cacheSize).toBe(1);
      view.set("web", "default", [ep("w9", "10.0.0.9", 1)]);
      expect(data(ask(query("web.polis", "A"))!.answers)).toEqual(["10.0.0.9"]);
      view.remove("web", "default");
      expect(ask(query("web.polis", "A"))!.rcode).toBe("NXDOMAIN");
    });

    test("repeated questions are served from the cache, and the SOA serial follows the version", () => {
      const { view, ask, responder } = setup();
      for (let i = 0; i < 5; i++) ask(query("nope.polis", "A"));
      expect(responder.cacheSize).toBe(1);
      const serial = (r: ReturnType<typeof ask>) => {
        const soa = r!.authorities![0];
        return soa.type === "SOA" ? soa.data.serial : -1;
      };
      const before = serial(ask(query("nope.polis", "A")));
      view.set("x", "default", []);
      expect(serial(ask(query("nope.polis", "A")))).toBe(before! + 1);
    });

    test("random names cannot grow the cache past its bound", () => {
      const { ask, responder } = setup({ maxCacheEntries: 50 });
      for (let i = 0; i < 500; i++) ask(query(`n${i}.polis`, "A"));
      expect(responder.cacheSize).toBeLessThanOrEqual(50);
    });

    test("refused names are not cached at all", () => {
      const { ask, responder } = setup();
      for (let i = 0; i < 20; i++) ask(query(`n${i}.example`, "A"));
      expect(responder.cacheSize).toBe(0);
    });
  });

  describe("malformed input", () => {
    test("fewer than 12 bytes are dropped", () => {
      expect(setup().responder.respond(new Uint8Array(11), true)).toBeUndefined();
    });

    test("a response packet is dropped, never answered (no loops between servers)", () => {
      const packet = query("web.polis", "A");
      packet[2] |= 0x80;
      expect(setup().responder.respond(packet, true)).toBeUndefined();
    });

    test("a readable header with a broken question is FORMERR with the id echoed", () => {
      const packet = query("web.polis", "A", { id: 99 }).subarray(0, 16);
      const r = setup().ask(Buffer.from(packet))!;
      expect(r.rcode).toBe("FORMERR");
      expect(r.id).toBe(99);
    });

    test("a 255-byte name is answered and a 257-byte one is FORMERR", () => {
      const { ask } = setup();
      const name = (labels: number, last: number) =>
        [...Array(labels).fill("a".repeat(63)), "x".repeat(last), "polis"].join(".");
      // wire length = sum of (label length + 1) + 1: 3 * 64 + (last + 1) + 6 + 1
      const ok = ask(query(name(3, 55), "A", { edns: 1232 }))!;
      expect(ok.rcode).toBe("NXDOMAIN");
      expect(ask(query(name(3, 57), "A", { edns: 1232 }))!.rcode).toBe("FORMERR");
      const refused = ask(query(name(3, 55).replace(/polis$/, "other"), "A", { edns: 1232 }))!;
      expect(refused.rcode).toBe("REFUSED");
      expect(refused.additionals!.map((a) => a.type)).toEqual(["OPT"]);
    });

    test("two questions are FORMERR", () => {
      const packet = query("web.polis", "A");
      packet[5] = 2;
      expect(setup().ask(packet)!.rcode).toBe("FORMERR");
    });

    test("an opcode other than QUERY is NOTIMP", () => {
      const packet = query("web.polis", "A");
      packet[2] |= 2 << 3; // STATUS
      expect(setup().ask(packet)!.rcode).toBe("NOTIMP");
    });
  });
});
