// The `cluster:` section (etcd connection, this node, lease TTL), its cross-field rules, and its mapping onto the
// spec the cluster worker runs. Without the section the agent is a single host and starts no cluster worker.
import { isIP } from "node:net";
import { hostname } from "node:os";
import { Effect, Schema } from "effect";
import type { ClusterSpec } from "../protocol/cluster.ts";
import type { ConfigProblem } from "./problems.ts";
import { Duration } from "./units.ts";
import { LABEL } from "./placement-schema.ts";

const def = <S extends Schema.Top>(schema: S, value: S["Encoded"]) => Schema.withDecodingDefaultKey<S>(Effect.succeed(value))(schema);
const NonEmpty = Schema.String.check(Schema.isMinLength(1, { message: "Expected a non-empty string" }));
const NodeName = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, { message: "Expected a name of letters, digits, '.', '_' or '-' (1-63 characters, starting with a letter or digit)" }),
);
const EtcdUrl = Schema.String.check(Schema.isPattern(/^https?:\/\/[^/\s]+\/?$/, { message: 'Expected an etcd client URL such as "http://127.0.0.1:2379" (scheme, host and port, no path)' }));
const Prefix = Schema.String.check(Schema.isPattern(/^(\/[A-Za-z0-9_.-]+)+$/, { message: 'Expected a key prefix such as "/polis" (starts with "/", no trailing "/")' }));

export const Cluster = Schema.Struct({
  etcd: Schema.Struct({
    endpoints: Schema.Array(EtcdUrl).check(Schema.isMinLength(1, { message: "Expected at least one etcd endpoint" })),
    prefix: def(Prefix, "/polis"),
    dial_timeout: def(Duration, "2s"),
    username: Schema.optionalKey(NonEmpty),
    password_file: Schema.optionalKey(NonEmpty),
    tls: Schema.optionalKey(Schema.Struct({ ca_file: Schema.optionalKey(NonEmpty), cert_file: Schema.optionalKey(NonEmpty), key_file: Schema.optionalKey(NonEmpty) })),
  }),
  node: Schema.Struct({
      /** Default: agent.name, else the host name. */
      name: Schema.optionalKey(NodeName),
      zone: def(Schema.String, ""),
      /** The address replicas bind to (HOST) and other nodes reach them at. No default: a guess (127.0.0.1, the
       *  first interface) would publish endpoints other hosts cannot reach, or reach the wrong host. */
      advertise: NonEmpty,
      /** Matched by cluster apps' placement.constraints (and shown in polis members). */
      labels: def(Schema.Record(Schema.String, Schema.String), {}),
  }),
  lease_ttl: def(Duration, "10s"),
});

export type ClusterConfig = typeof Cluster.Type;

/** etcd leases are whole seconds; below 2 s a keepalive every TTL/3 leaves no room for one slow round trip. */
export const MIN_LEASE_TTL_MS = 2000;

export function clusterRules(c: ClusterConfig | undefined): ConfigProblem[] {
  if (!c) return [];
  const out: ConfigProblem[] = [];
  if (c.lease_ttl < MIN_LEASE_TTL_MS) out.push({ path: "cluster.lease_ttl", message: `must be at least ${MIN_LEASE_TTL_MS / 1000}s`, value: String(c.lease_ttl) });
  else if (c.lease_ttl % 1000 !== 0) out.push({ path: "cluster.lease_ttl", message: "etcd leases are whole seconds", value: String(c.lease_ttl) });
  if (c.etcd.dial_timeout < 100) out.push({ path: "cluster.etcd.dial_timeout", message: "must be at least 100ms", value: String(c.etcd.dial_timeout) });
  if (isIP(c.node.advertise) === 0) out.push({ path: "cluster.node.advertise", message: "expected an IP address (other nodes and DNS answers use it as is)", value: JSON.stringify(c.node.advertise) });
  if (c.node.zone !== "" && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(c.node.zone)) out.push({ path: "cluster.node.zone", message: "expected a name of letters, digits, '.', '_' or '-'", value: JSON.stringify(c.node.zone) });
  for (const [k, v] of Object.entries(c.node.labels)) {
    if (!LABEL.test(k)) out.push({ path: `cluster.node.labels.${k}`, message: "expected a label name of letters, digits, '.', '_', '/' or '-' (1-63 characters)", value: JSON.stringify(k) });
    if (v.length > 253) out.push({ path: `cluster.node.labels.${k}`, message: "a label value is at most 253 characters", value: `${v.length} characters` });
  }
  if (Object.keys(c.node.labels).length > 64) out.push({ path: "cluster.node.labels", message: "at most 64 labels", value: String(Object.keys(c.node.labels).length) });
  if (c.etcd.password_file !== undefined && c.etcd.username === undefined) out.push({ path: "cluster.etcd.password_file", message: "a password needs cluster.etcd.username" });
  const tls = c.etcd.tls;
  if (tls && (tls.cert_file === undefined) !== (tls.key_file === undefined)) out.push({ path: "cluster.etcd.tls", message: "cert_file and key_file go together" });
  if (tls && c.etcd.endpoints.some((e) => e.startsWith("http://"))) out.push({ path: "cluster.etcd.endpoints", message: "tls is set but an endpoint uses http://", value: JSON.stringify(c.etcd.endpoints.find((e) => e.startsWith("http://"))) });
  return out;
}

/** This node's name in the cluster. */
export const clusterNodeName = (c: ClusterConfig, agentName: string | undefined) => c.node.name ?? agentName ?? hostname().split(".")[0]!.replace(/[^A-Za-z0-9_.-]/g, "-");

export function toClusterSpec(c: ClusterConfig, agentName: string | undefined, version: string): ClusterSpec {
  return {
    endpoints: c.etcd.endpoints.map((e) => e.replace(/\/$/, "")),
    prefix: c.etcd.prefix,
    dialTimeoutMs: c.etcd.dial_timeout,
    ...(c.etcd.username !== undefined ? { username: c.etcd.username } : {}),
    ...(c.etcd.password_file !== undefined ? { passwordFile: c.etcd.password_file } : {}),
    ...(c.etcd.tls ? { tls: { ...(c.etcd.tls.ca_file ? { caFile: c.etcd.tls.ca_file } : {}), ...(c.etcd.tls.cert_file ? { certFile: c.etcd.tls.cert_file } : {}), ...(c.etcd.tls.key_file ? { keyFile: c.etcd.tls.key_file } : {}) } } : {}),
    leaseTtlSeconds: Math.max(2, Math.round(c.lease_ttl / 1000)),
    node: { name: clusterNodeName(c, agentName), zone: c.node.zone, advertise: c.node.advertise, ...(Object.keys(c.node.labels).length > 0 ? { labels: c.node.labels } : {}) },
    version,
  };
}
