import { describe, expect, test } from "bun:test";
import { toClusterSpec } from "../../../src/config/cluster.ts";
import { decodeConfig } from "../../../src/config/decode.ts";

const decode = (cluster: unknown, extra: Record<string, unknown> = {}) => decodeConfig({ cluster, ...extra }, "test.yaml", { cores: 2 });
const problems = (cluster: unknown, extra: Record<string, unknown> = {}) => {
  const r = decode(cluster, extra);
  return r.ok ? [] : r.error.problems.map((p) => `${p.path}: ${p.message}`);
};

describe("cluster config", () => {
  test("without a cluster section the agent is a single host", () => {
    const r = decodeConfig({}, "test.yaml");
    expect(r.ok && r.config.cluster).toBeUndefined();
  });

  test("defaults: prefix /polis, 2s dial timeout, 10s lease; the node is named after the agent", () => {
    const r = decode({ etcd: { endpoints: ["http://127.0.0.1:2379"] }, node: { advertise: "127.0.0.1" } }, { agent: { name: "edge-1" } });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(toClusterSpec(r.config.cluster!, r.config.agent.name, "9.9.9")).toEqual({
      endpoints: ["http://127.0.0.1:2379"],
      prefix: "/polis",
      dialTimeoutMs: 2000,
      leaseTtlSeconds: 10,
      node: { name: "edge-1", zone: "", advertise: "127.0.0.1" },
      version: "9.9.9",
    });
  });

  test.each([
    [{ etcd: { endpoints: [] } }, "cluster.etcd.endpoints: Expected at least one etcd endpoint"],
    [{ etcd: { endpoints: ["127.0.0.1:2379"] } }, 'cluster.etcd.endpoints[0]: Expected an etcd client URL such as "http://127.0.0.1:2379" (scheme, host and port, no path)'],
    [{ etcd: { endpoints: ["http://e:2379"], prefix: "polis/" } }, 'cluster.etcd.prefix: Expected a key prefix such as "/polis" (starts with "/", no trailing "/")'],
    [{ etcd: { endpoints: ["http://e:2379"] }, node: { advertise: "10.0.0.1" }, lease_ttl: "1s" }, "cluster.lease_ttl: must be at least 2s"],
    [{ etcd: { endpoints: ["http://e:2379"] }, node: { advertise: "10.0.0.1" }, lease_ttl: "2500ms" }, "cluster.lease_ttl: etcd leases are whole seconds"],
    [{ etcd: { endpoints: ["http://e:2379"] }, node: { advertise: "edge-1.example" } }, "cluster.node.advertise: expected an IP address (other nodes and DNS answers use it as is)"],
    [{ etcd: { endpoints: ["http://e:2379"], password_file: "/p" }, node: { advertise: "10.0.0.1" } }, "cluster.etcd.password_file: a password needs cluster.etcd.username"],
    [{ etcd: { endpoints: ["http://e:2379"], tls: { cert_file: "/c" } }, node: { advertise: "10.0.0.1" } }, "cluster.etcd.tls: cert_file and key_file go together"],
    [{ etcd: { endpoints: ["http://e:2379"], tls: { ca_file: "/c" } }, node: { advertise: "10.0.0.1" } }, "cluster.etcd.endpoints: tls is set but an endpoint uses http://"],
    [{ etcd: { endpoints: ["http://e:2379"] }, nodes: {} }, expect.stringContaining("cluster.nodes")],
    [{ etcd: { endpoints: ["http://e:2379"] } }, "cluster.node: required field is missing"],
    [{ etcd: { endpoints: ["http://e:2379"] }, node: { name: "a" } }, "cluster.node.advertise: required field is missing"],
  ])("%o is refused: %s", (cluster, message) => {
    expect(problems(cluster)).toContainEqual(message as string);
  });

  test("scope applies to app backends only", () => {
    const p = problems({ etcd: { endpoints: ["http://e:2379"] }, node: { advertise: "10.0.0.1" } }, { balancers: [{ name: "b", listen: "127.0.0.1:0", backends: { service: "web", scope: "cluster" } }] });
    expect(p).toContain("balancers[0].backends.scope: scope applies to an app backend (a service backend always spans the cluster)");
  });
});
