import { describe, expect, test } from "bun:test";
import { addressFamily, addressLabel } from "../../../src/discovery/dns-address.ts";
import { isUnderDomain, normalizeDomain, routeName, type DnsRoute } from "../../../src/discovery/dns-names.ts";

describe("dns name routing", () => {
  const cases: [string, DnsRoute][] = [
    ["polis", { kind: "apex" }],
    ["web.polis", { kind: "service", service: "web", namespace: "default", srvOnly: false }],
    ["web.prod.polis", { kind: "service", service: "web", namespace: "prod", srvOnly: false }],
    ["_web._tcp.polis", { kind: "service", service: "web", namespace: "default", srvOnly: true }],
    ["_web._udp.prod.polis", { kind: "service", service: "web", namespace: "prod", srvOnly: true }],
    ["0a000001.addr.polis", { kind: "addr", address: "10.0.0.1", family: 4 }],
    ["fd000000000000000000000000000002.addr.polis", { kind: "addr", address: "fd00:0000:0000:0000:0000:0000:0000:0002", family: 6 }],
    ["_tcp.polis", { kind: "empty" }],
    ["addr.polis", { kind: "empty" }],
    ["_tcp.prod.polis", { kind: "empty" }],
    ["a.b.c.d.polis", { kind: "unknown" }],
    ["web.edge-1.node.polis", { kind: "service", service: "web", namespace: "default", srvOnly: false, node: "edge-1" }],
    ["web.prod.edge-1.node.polis", { kind: "service", service: "web", namespace: "prod", srvOnly: false, node: "edge-1" }],
    ["web.a.b.c.node.polis", { kind: "unknown" }],
    ["_web.polis", { kind: "unknown" }],
    ["xyz.addr.polis", { kind: "unknown" }],
    ["web.notpolis", { kind: "outside" }],
    ["example.com", { kind: "outside" }],
    ["", { kind: "outside" }],
  ];
  for (const [name, route] of cases) {
    test(`"${name}" routes to ${route.kind}`, () => {
      expect(routeName(name, "polis")).toEqual(route);
    });
  }

  test("a multi-label domain works the same way", () => {
    expect(routeName("web.prod.svc.local", "svc.local")).toEqual({ kind: "service", service: "web", namespace: "prod", srvOnly: false });
    expect(isUnderDomain("svc.local", "svc.local")).toBe(true);
    expect(isUnderDomain("xsvc.local", "svc.local")).toBe(false);
  });

  test("configured domains are normalised to lower case without dots at the ends", () => {
    expect(normalizeDomain(".Polis.")).toBe("polis");
  });
});

describe("dns address labels", () => {
  const cases: [string, string | undefined][] = [
    ["10.0.0.7", "0a000007"],
    ["255.1.0.16", "ff010010"],
    ["::1", "00000000000000000000000000000001"],
    ["fd00::2", "fd000000000000000000000000000002"],
    ["2001:db8::8:800:200c:417a", "20010db80000000000080800200c417a"],
    ["::ffff:10.0.0.1", "00000000000000000000ffff0a000001"],
    ["fe80::1%eth0", "fe800000000000000000000000000001"],
    ["localhost", undefined],
  ];
  for (const [address, label] of cases) {
    test(`${address} -> ${label}`, () => {
      expect(addressLabel(address)).toBe(label);
    });
  }

  test("only IP literals have a family", () => {
    expect([addressFamily("10.0.0.1"), addressFamily("::1"), addressFamily("web.local")]).toEqual([4, 6, 0]);
  });
});
