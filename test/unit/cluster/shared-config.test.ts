import { describe, expect, test } from "bun:test";
import { checkShared, decodeSharedRecord, mergeShared, sharedPath } from "../../../src/cluster/shared-config.ts";

const app = (name: string, scope = "cluster") => ({ name, command: "/bin/true", placement: { scope } });
const rcv = (name: string, url = "http://127.0.0.1:9/hook") => ({ name, url });

describe("checkShared: only shared sections, cluster apps, named once", () => {
  test.each([
    [{ apps: [app("web")], alerts: { receivers: [rcv("ops")] } }, []],
    [{ balancers: [] }, ["balancers"]],
    [{ alerts: { receivers: [rcv("ops")], group_wait: "1s" } }, ["alerts.group_wait"]],
    [{ apps: [app("web", "node")] }, ["apps[0].placement.scope"]],
    [{ apps: [{ command: "x", placement: { scope: "cluster" } }] }, ["apps[0].name"]],
    [{ alerts: { receivers: [rcv("ops"), rcv("ops")] } }, ["alerts.receivers[1].name"]],
    [{ apps: "web" }, ["apps"]],
    [[1], [""]],
  ])("%j -> problems at %j", (doc, paths) => {
    expect(checkShared(doc).map((p) => p.path)).toEqual(paths);
  });
});

describe("mergeShared: the agent's own items win by name", () => {
  test("shared items the file lacks are appended; same-named ones are shadowed", () => {
    const local = { api: { allow_api_commands: true }, apps: [{ name: "web", command: "/bin/local" }], alerts: { receivers: [rcv("ops", "http://127.0.0.1:1/mine")] } };
    const m = mergeShared(local, { apps: [app("web"), app("batch")], alerts: { receivers: [rcv("ops"), rcv("pager")] } });
    const raw = m.raw as { apps: Array<{ name: string; command: string }>; alerts: { receivers: Array<{ name: string; url: string }> } };
    expect(raw.apps.map((a) => `${a.name}:${a.command}`)).toEqual(["web:/bin/local", "batch:/bin/true"]);
    expect(raw.alerts.receivers.map((r) => `${r.name}:${r.url}`)).toEqual(["ops:http://127.0.0.1:1/mine", "pager:http://127.0.0.1:9/hook"]);
    expect(m.shadowed).toEqual(["apps/web", "receivers/ops"]);
    expect(m.ignored).toEqual([]);
    // A problem in the merged document points back into the shared one.
    expect(sharedPath({ path: "apps[1].replicas", message: "bad" }, m.placed).path).toBe("apps[1].replicas");
    expect(sharedPath({ path: "alerts.receivers[1].url", message: "bad" }, m.placed).path).toBe("alerts.receivers[1].url");
    expect(sharedPath({ path: "apps[0].port", message: "bad" }, m.placed).message).toBe("bad (in this agent's own config)");
  });

  test("without api.allow_api_commands: true in the file, shared apps are not laid in (receivers still are)", () => {
    const m = mergeShared({ apps: [] }, { apps: [app("batch")], alerts: { receivers: [rcv("pager")] } });
    expect((m.raw as { apps: unknown[] }).apps).toEqual([]);
    expect(m.ignored).toEqual(["batch"]);
    expect((m.raw as { alerts: { receivers: unknown[] } }).alerts.receivers).toHaveLength(1);
  });

  test("no shared document: the local one as it is", () => {
    const local = { apps: [] };
    expect(mergeShared(local, undefined).raw).toBe(local);
  });
});

describe("decodeSharedRecord: a record from etcd is input from the network", () => {
  test.each([
    ["not json", "not JSON"],
    [JSON.stringify({ document: [] }), "expected {document, updatedAt, node}"],
    [JSON.stringify({ document: { tasks: [] }, updatedAt: 1, node: "a" }), "tasks: not a shared section"],
  ])("%s is refused: %s", (text, reason) => {
    const d = decodeSharedRecord(text);
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.reason).toContain(reason);
  });
  test("a good one decodes", () => {
    const d = decodeSharedRecord(JSON.stringify({ document: { alerts: { receivers: [rcv("ops")] } }, updatedAt: 5, node: "a" }));
    expect(d).toEqual({ ok: true, record: { document: { alerts: { receivers: [rcv("ops")] } }, updatedAt: 5, node: "a" } });
  });
});
