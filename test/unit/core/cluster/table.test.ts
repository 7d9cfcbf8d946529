import { describe, expect, test } from "bun:test";
import { decodeEndpoint, decodeNode, encodeEndpoint, endpointKey, nodeKey, parseKey, type ClusterEndpoint } from "../../../../src/core/cluster/records.ts";
import { apply, createTable, GONE_LIMIT, members, resync } from "../../../../src/core/cluster/table.ts";

const P = "/polis";
const node = (name: string, extra: Record<string, unknown> = {}) => JSON.stringify({ name, zone: "z1", advertise: "10.0.0.1", version: "1.0.0", startedAt: 1, capacity: { cores: 2, memoryBytes: 1, load1: 0 }, ...extra });
const ep = (n: string, id: string, extra: Partial<ClusterEndpoint> = {}): ClusterEndpoint => ({ node: n, zone: "z1", namespace: "default", service: "web", id, address: "10.0.0.1", port: 8080, protocol: "http", weight: 1, health: "passing", draining: false, metadata: {}, labels: {}, ...extra });
const put = (e: ClusterEndpoint) => ({ type: "put" as const, key: endpointKey(P, e), value: encodeEndpoint(e) });

describe("cluster keys and records", () => {
  test.each([
    ["/polis/nodes/a", { kind: "node", node: "a" }],
    ["/polis/endpoints/a/default/web/web-0", { kind: "endpoint", identity: "a/default/web/web-0", node: "a" }],
    ["/polis/endpoints/a/default/web", { kind: "other" }],
    ["/polis/nodes/a/extra", { kind: "other" }],
    ["/polisx/nodes/a", { kind: "other" }],
    ["/polis/nodes/../x", { kind: "other" }],
  ])("%s parses as %o", (key, want) => {
    expect(parseKey(P, key)).toEqual(want as never);
  });

  test("an endpoint round-trips through its key and value", () => {
    const e = ep("a", "web-0", { metadata: { replica: "0" }, labels: { app: "web" }, health: "warning" });
    const k = parseKey(P, endpointKey(P, e));
    expect(k.kind).toBe("endpoint");
    expect(decodeEndpoint(encodeEndpoint(e), (k as { identity: string }).identity)).toEqual({ ok: true, value: e });
  });

  test.each([
    ["not json", "{", "not a JSON object"],
    ["a port out of range", JSON.stringify({ address: "1.2.3.4", port: 70000 }), "port: expected 1..65535, got 70000"],
    ["an unknown health", JSON.stringify({ address: "1.2.3.4", port: 1, health: "fine" }), 'health: unknown "fine"'],
    ["a weight of 0", JSON.stringify({ address: "1.2.3.4", port: 1, weight: 0 }), "weight: expected 1..65535, got 0"],
    ["metadata that is not strings", JSON.stringify({ address: "1.2.3.4", port: 1, metadata: { a: 1 } }), "metadata/labels: expected at most 64 string values"],
  ])("an endpoint record with %s is refused with a reason", (_what, text, reason) => {
    expect(decodeEndpoint(text, "a/default/web/x")).toEqual({ ok: false, reason });
  });

  test("a node record must carry the name of its key", () => {
    expect(decodeNode(node("b"), "a")).toEqual({ ok: false, reason: 'name "b" does not match its key (a)' });
    expect(decodeNode(node("a"), "a").ok).toBe(true);
  });
});

describe("remote table", () => {
  test("watch events add, change and remove other nodes' endpoints; this node's own are skipped", () => {
    const t = createTable(P, "self");
    const d1 = apply(t, [put(ep("a", "web-0")), put(ep("self", "web-0"))], 10);
    expect(d1.upserts.map((e) => `${e.node}/${e.id}`)).toEqual(["a/web-0"]);
    const same = apply(t, [put(ep("a", "web-0"))], 11);
    expect(same.upserts).toEqual([]);
    const changed = apply(t, [put(ep("a", "web-0", { health: "critical" }))], 12);
    expect(changed.upserts[0]!.health).toBe("critical");
    const gone = apply(t, [{ type: "delete", key: endpointKey(P, ep("a", "web-0")) }], 13);
    expect(gone.removed).toEqual(["a/default/web/web-0"]);
    expect(t.endpoints.size).toBe(0);
  });

  test("a bad record is reported and replaces (removes) what its key held before", () => {
    const t = createTable(P, "self");
    apply(t, [put(ep("a", "web-0"))], 1);
    const d = apply(t, [{ type: "put", key: endpointKey(P, ep("a", "web-0")), value: "{bad" }], 2);
    expect(d.invalid).toEqual([{ key: "/polis/endpoints/a/default/web/web-0", reason: "not a JSON object" }]);
    expect(d.removed).toEqual(["a/default/web/web-0"]);
  });

  test("a node deleted after marking itself leaving has left; one whose lease expired has failed", () => {
    const t = createTable(P, "self");
    apply(t, [{ type: "put", key: nodeKey(P, "a"), value: node("a") }, { type: "put", key: nodeKey(P, "b"), value: node("b") }], 1);
    apply(t, [{ type: "put", key: nodeKey(P, "a"), value: node("a", { leaving: true }) }], 2);
    const d = apply(t, [{ type: "delete", key: nodeKey(P, "a") }, { type: "delete", key: nodeKey(P, "b") }], 3);
    expect(d.members.map((m) => [m.node, m.kind])).toEqual([["a", "left"], ["b", "failed"]]);
    expect(members(t, false).map((m) => [m.name, m.status])).toEqual([["a", "left"], ["b", "failed"]]);
  });

  test("present members are suspect while this agent's view is stale, except itself", () => {
    const t = createTable(P, "self");
    apply(t, [{ type: "put", key: nodeKey(P, "a"), value: node("a") }, { type: "put", key: nodeKey(P, "self"), value: node("self") }], 1);
    expect(members(t, true).map((m) => [m.name, m.status, m.self])).toEqual([["a", "suspect", false], ["self", "alive", true]]);
    expect(members(t, false).map((m) => m.status)).toEqual(["alive", "alive"]);
  });

  test("a member that comes back is alive again, not listed twice", () => {
    const t = createTable(P, "self");
    apply(t, [{ type: "put", key: nodeKey(P, "a"), value: node("a") }, { type: "delete", key: nodeKey(P, "a") }], 1);
    const d = apply(t, [{ type: "put", key: nodeKey(P, "a"), value: node("a") }], 2);
    expect(d.members.map((m) => m.kind)).toEqual(["joined"]);
    expect(members(t, false).map((m) => [m.name, m.status])).toEqual([["a", "alive"]]);
  });

  test("a resync returns only the difference against what was known", () => {
    const t = createTable(P, "self");
    apply(t, [{ type: "put", key: nodeKey(P, "a"), value: node("a") }, put(ep("a", "web-0")), put(ep("a", "web-1"))], 1);
    const d = resync(t, [{ key: nodeKey(P, "a"), value: node("a") }, { key: endpointKey(P, ep("a", "web-1")), value: encodeEndpoint(ep("a", "web-1")) }, { key: endpointKey(P, ep("a", "web-2")), value: encodeEndpoint(ep("a", "web-2")) }], 2);
    expect(d.removed).toEqual(["a/default/web/web-0"]);
    expect(d.upserts.map((e) => e.id)).toEqual(["web-2"]);
    expect(d.members).toEqual([]);
    const empty = resync(t, [], 3);
    expect(empty.removed.sort()).toEqual(["a/default/web/web-1", "a/default/web/web-2"]);
    expect(empty.members.map((m) => [m.node, m.kind])).toEqual([["a", "failed"]]);
  });

  test(`gone members are bounded to the newest ${GONE_LIMIT}`, () => {
    const t = createTable(P, "self");
    for (let i = 0; i < GONE_LIMIT + 10; i++) apply(t, [{ type: "put", key: nodeKey(P, `n${i}`), value: node(`n${i}`) }, { type: "delete", key: nodeKey(P, `n${i}`) }], i);
    expect(t.gone.size).toBe(GONE_LIMIT);
    expect(t.gone.has("n0")).toBe(false);
    expect(t.gone.has(`n${GONE_LIMIT + 9}`)).toBe(true);
  });
});
