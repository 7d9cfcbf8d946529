// What one agent writes to etcd and reads back from every other: the key layout under the prefix, the node and
// endpoint records, and their checked decoding (a record another agent wrote is input from the network: a bad one
// is skipped with a reason, never trusted). Pure: no I/O.
//
//   <prefix>/nodes/<node>                                  NodeRecord      (under the node's lease)
//   <prefix>/endpoints/<node>/<namespace>/<service>/<id>   ClusterEndpoint (under the same lease)

export type EndpointHealth = "passing" | "warning" | "critical";
const HEALTH: ReadonlySet<string> = new Set(["passing", "warning", "critical"]);
const PROTOCOLS: ReadonlySet<string> = new Set(["http", "https", "tcp", "udp", "grpc"]);

export interface NodeRecord {
  readonly name: string;
  readonly zone: string;
  /** The address this node's replicas are reached at. */
  readonly advertise: string;
  readonly version: string;
  /** Wall-clock ms. */
  readonly startedAt: number;
  /** `freePorts`: ports of this node's app port ranges (merged) that no replica of it holds. */
  readonly capacity: { readonly cores: number; readonly memoryBytes: number; readonly load1: number; readonly freePorts: number };
  /** Set by a graceful stop just before the lease is revoked: the node left rather than failed. */
  readonly leaving?: boolean;
  /** `cluster.node.labels`, matched by placement constraints. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Cluster apps (placement.scope cluster) this node's config defines: the leader places only those here. */
  readonly apps?: readonly string[];
}

export type MemberStatus = "alive" | "suspect" | "left" | "failed";

export interface Member extends NodeRecord {
  readonly status: MemberStatus;
  /** Wall-clock ms this agent last saw the record (written or confirmed by a resync). */
  readonly lastSeen: number;
  readonly self: boolean;
}

export interface ClusterEndpoint {
  readonly node: string;
  readonly zone: string;
  readonly namespace: string;
  readonly service: string;
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly protocol: "http" | "https" | "tcp" | "udp" | "grpc";
  readonly weight: number;
  readonly health: EndpointHealth;
  readonly draining: boolean;
  readonly metadata: Readonly<Record<string, string>>;
  /** The owning service's labels (a service known only remotely is created with them). */
  readonly labels: Readonly<Record<string, string>>;
}

/** Names are path segments: no "/" so a key splits back unambiguously. */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,126}$/;

export const nodeKey = (prefix: string, node: string) => `${prefix}/nodes/${node}`;
export const endpointsPrefix = (prefix: string, node?: string) => (node ? `${prefix}/endpoints/${node}/` : `${prefix}/endpoints/`);
/** The identity of an endpoint across the cluster (also the suffix of its key). */
export const endpointIdentity = (e: Pick<ClusterEndpoint, "node" | "namespace" | "service" | "id">) => `${e.node}/${e.namespace}/${e.service}/${e.id}`;
export const endpointKey = (prefix: string, e: Pick<ClusterEndpoint, "node" | "namespace" | "service" | "id">) => `${prefix}/endpoints/${endpointIdentity(e)}`;

export type ParsedKey = { kind: "node"; node: string } | { kind: "endpoint"; identity: string; node: string } | { kind: "other" };

/** What a key under the prefix names. */
export function parseKey(prefix: string, key: string): ParsedKey {
  if (!key.startsWith(`${prefix}/`)) return { kind: "other" };
  const parts = key.slice(prefix.length + 1).split("/");
  if (parts[0] === "nodes" && parts.length === 2 && SEGMENT.test(parts[1]!)) return { kind: "node", node: parts[1]! };
  if (parts[0] === "endpoints" && parts.length === 5 && parts.slice(1).every((p) => SEGMENT.test(p))) return { kind: "endpoint", identity: parts.slice(1).join("/"), node: parts[1]! };
  return { kind: "other" };
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (o: Record<string, unknown>, k: string, max = 253): string | undefined => (typeof o[k] === "string" && (o[k] as string).length <= max ? (o[k] as string) : undefined);
const num = (o: Record<string, unknown>, k: string): number | undefined => (typeof o[k] === "number" && Number.isFinite(o[k]) ? (o[k] as number) : undefined);
function stringMap(v: unknown): Record<string, string> | undefined {
  if (v === undefined) return {};
  if (!isObj(v)) return undefined;
  const out: Record<string, string> = {};
  let n = 0;
  for (const [k, x] of Object.entries(v)) {
    // Bounded: a record is copied into every agent's catalog.
    if (typeof x !== "string" || ++n > 64 || k.length > 128 || x.length > 1024) return undefined;
    out[k] = x;
  }
  return out;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function decodeNode(text: string, expectedName: string): Decoded<NodeRecord> {
  const o = parseJson(text);
  if (!isObj(o)) return { ok: false, reason: "not a JSON object" };
  const name = str(o, "name", 127);
  if (name !== expectedName) return { ok: false, reason: `name ${JSON.stringify(o.name)} does not match its key (${expectedName})` };
  const advertise = str(o, "advertise");
  if (!advertise) return { ok: false, reason: "advertise: expected an address" };
  const cap = isObj(o.capacity) ? o.capacity : {};
  const labels = stringMap(o.labels);
  if (!labels) return { ok: false, reason: "labels: expected at most 64 string values" };
  const apps = o.apps === undefined ? undefined : Array.isArray(o.apps) && o.apps.length <= 1000 && o.apps.every((a) => typeof a === "string" && SEGMENT.test(a)) ? (o.apps as string[]) : null;
  if (apps === null) return { ok: false, reason: "apps: expected at most 1,000 app names" };
  return {
    ok: true,
    value: {
      name,
      zone: str(o, "zone", 127) ?? "",
      advertise,
      version: str(o, "version", 64) ?? "unknown",
      startedAt: num(o, "startedAt") ?? 0,
      capacity: { cores: num(cap, "cores") ?? 0, memoryBytes: num(cap, "memoryBytes") ?? 0, load1: num(cap, "load1") ?? 0, freePorts: num(cap, "freePorts") ?? 0 },
      ...(o.leaving === true ? { leaving: true } : {}),
      ...(labels && Object.keys(labels).length > 0 ? { labels } : {}),
      ...(apps ? { apps } : {}),
    },
  };
}

export function decodeEndpoint(text: string, identity: string): Decoded<ClusterEndpoint> {
  const o = parseJson(text);
  if (!isObj(o)) return { ok: false, reason: "not a JSON object" };
  const [node, namespace, service, id] = identity.split("/") as [string, string, string, string];
  const address = str(o, "address");
  if (!address) return { ok: false, reason: "address: expected a string" };
  const port = num(o, "port");
  if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) return { ok: false, reason: `port: expected 1..65535, got ${JSON.stringify(o.port)}` };
  const protocol = str(o, "protocol") ?? "http";
  if (!PROTOCOLS.has(protocol)) return { ok: false, reason: `protocol: unknown ${JSON.stringify(protocol)}` };
  const weight = num(o, "weight") ?? 1;
  if (!Number.isInteger(weight) || weight < 1 || weight > 65535) return { ok: false, reason: `weight: expected 1..65535, got ${JSON.stringify(o.weight)}` };
  const health = str(o, "health") ?? "passing";
  if (!HEALTH.has(health)) return { ok: false, reason: `health: unknown ${JSON.stringify(health)}` };
  const metadata = stringMap(o.metadata);
  const labels = stringMap(o.labels);
  if (!metadata || !labels) return { ok: false, reason: "metadata/labels: expected at most 64 string values" };
  return {
    ok: true,
    value: { node, zone: str(o, "zone", 127) ?? "", namespace, service, id, address, port, protocol: protocol as ClusterEndpoint["protocol"], weight, health: health as EndpointHealth, draining: o.draining === true, metadata, labels },
  };
}

/** The value written for an endpoint (its identity is in the key). */
export function encodeEndpoint(e: ClusterEndpoint): string {
  return JSON.stringify({ zone: e.zone, address: e.address, port: e.port, protocol: e.protocol, weight: e.weight, health: e.health, draining: e.draining, metadata: e.metadata, labels: e.labels });
}

/** True when a name can be a key segment (node names, namespaces, services and endpoint ids are checked before use). */
export const isSegment = (s: string) => SEGMENT.test(s);
