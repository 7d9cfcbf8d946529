// The service catalog owned by the supervisor: services, their endpoints and each endpoint's health.
// Sources: apps (kept in step with their replicas), static config, and API registrations (persisted).
// Every change bumps `version` (the DNS answer cache keys on it) and is published as an event.
// Operator overrides (endpoint drain and weight, service maintenance) are kept apart from the endpoints: they
// outlive an endpoint's removal (a replica restarting in its slot comes back drained), are handed to `persist`
// before they take effect, and are restored from `overrides` when the catalog is created.
// Remote endpoints (other cluster nodes', fed by the cluster link) are a layer of their own: each carries its
// owner's node, zone and health, is changed only through `applyRemote`, survives local re-syncs of its service, and
// is never touched by local health, drains or the reaper. A service known only from other nodes has source "cluster".

export type EndpointHealth = "passing" | "warning" | "critical";
export type EndpointProtocol = "http" | "https" | "tcp" | "udp" | "grpc";
export type ServiceSource = "app" | "config" | "api" | "cluster";

export interface CatalogEndpoint {
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly protocol: EndpointProtocol;
  /** Configured weight (1..65535); balancers derive effective weights from it and the health. */
  readonly weight: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly health: EndpointHealth;
  /** Wall-clock ms of the last health change. */
  readonly healthSince: number;
  readonly output?: string;
  /** Operator drain: no new traffic; in-flight finishes. */
  readonly draining: boolean;
  /** Set on another cluster node's endpoint: the node that owns it (local endpoints have none). */
  readonly node?: string;
  readonly zone?: string;
}

/** Another node's endpoint as the cluster link feeds it in; `id` is its id on its own node. */
export interface RemoteEndpointInput {
  readonly namespace: string;
  readonly service: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly endpoint: Omit<CatalogEndpoint, "healthSince" | "output" | "node" | "zone"> & { readonly node: string; readonly zone: string };
}

/** The catalog id of a remote endpoint: unique across nodes, still one URL path segment. */
export const remoteEndpointId = (id: string, node: string) => `${id}@${node}`;

/** Consul's maintenance mode: while set, the service's endpoints are in no balancer's pool. */
export interface Maintenance {
  readonly reason?: string;
  /** Wall-clock ms. */
  readonly since: number;
}

export interface EndpointOverride {
  readonly draining?: boolean;
  readonly weight?: number;
}

/** Every operator override, as persisted: keyed by "namespace/name", then by endpoint id. */
export type CatalogOverrides = Record<string, { maintenance?: Maintenance; endpoints?: Record<string, EndpointOverride> }>;

export interface CatalogService {
  readonly name: string;
  readonly namespace: string;
  readonly version?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly source: ServiceSource;
  readonly endpoints: readonly CatalogEndpoint[];
  readonly maintenance?: Maintenance;
}

export type EndpointInput = Omit<CatalogEndpoint, "health" | "healthSince" | "draining" | "output"> & {
  health?: EndpointHealth;
  draining?: boolean;
};
export type ServiceInput = Omit<CatalogService, "endpoints" | "source" | "maintenance"> & { endpoints?: readonly EndpointInput[] };

export type CatalogChange =
  | { kind: "service.registered" | "service.deregistered" | "service.updated"; service: CatalogService }
  | { kind: "endpoint.added" | "endpoint.removed"; service: CatalogService; endpoint: CatalogEndpoint }
  | { kind: "endpoint.health"; service: CatalogService; endpoint: CatalogEndpoint; from: EndpointHealth }
  | { kind: "endpoint.updated"; service: CatalogService; endpoint: CatalogEndpoint };

export interface ResolveOptions {
  /** Include warning and critical endpoints too (default: passing and warning, as Consul). */
  all?: boolean;
  onlyPassing?: boolean;
  selector?: LabelSelector;
}

export interface Catalog {
  readonly version: number;
  upsertService(input: ServiceInput, source: ServiceSource): CatalogService;
  removeService(namespace: string, name: string): boolean;
  upsertEndpoint(namespace: string, name: string, ep: EndpointInput): CatalogEndpoint | undefined;
  removeEndpoint(namespace: string, name: string, id: string): boolean;
  setHealth(namespace: string, name: string, id: string, health: EndpointHealth, output?: string): boolean;
  /** A drain the agent itself does (rolling restart, scale-down): not an override, gone with the endpoint. */
  setDraining(namespace: string, name: string, id: string, draining: boolean): boolean;
  setWeight(namespace: string, name: string, id: string, weight: number): boolean;
  /** An operator's drain or weight: persisted first, kept across the endpoint's removal and re-adding. */
  setEndpointOverride(namespace: string, name: string, id: string, o: EndpointOverride): void;
  /** Maintenance on (a value) or off (null): persisted first, then the service's change is published. */
  setMaintenance(namespace: string, name: string, m: Maintenance | null): void;
  maintenance(namespace: string, name: string): Maintenance | undefined;
  overrides(): CatalogOverrides;
  /** The operator's override of one endpoint, kept (and persisted) whether or not the endpoint exists now. */
  endpointOverride(namespace: string, name: string, id: string): EndpointOverride | undefined;
  get(namespace: string, name: string): CatalogService | undefined;
  list(filter?: { namespace?: string; selector?: LabelSelector }): CatalogService[];
  /** Endpoints of a service that answer traffic; undefined when the service is unknown. */
  resolve(name: string, namespace: string, opts?: ResolveOptions): CatalogEndpoint[] | undefined;
  /** Endpoints critical since before `before` (wall-clock ms), for deregister_critical_after. */
  criticalSince(before: number): Array<{ namespace: string; name: string; id: string }>;
  /**
   * Other nodes' endpoints: upserts and removals (by namespace, service and remote id), or with `full` the whole
   * remote layer replaced by `upserts`. Services left with no endpoint of any kind and no local source go.
   */
  applyRemote(upserts: readonly RemoteEndpointInput[], removed: ReadonlyArray<{ namespace: string; service: string; id: string }>, full: boolean): void;
  onChange(fn: (c: CatalogChange) => void): () => void;
}

export type LabelSelector = ReadonlyArray<{ key: string; op: "=" | "!=" | "exists" | "!exists"; value?: string }>;

/** Parses "app=web,tier!=db,canary,!legacy" (Kubernetes equality-based selectors); throws on bad syntax. */
export function parseSelector(text: string): LabelSelector {
  const out: Array<{ key: string; op: "=" | "!=" | "exists" | "!exists"; value?: string }> = [];
  for (const raw of text.split(",")) {
    const part = raw.trim();
    if (part === "") continue;
    const m = /^(!?)([A-Za-z0-9][A-Za-z0-9_./-]*)\s*(?:(!=|==|=)\s*([A-Za-z0-9_.-]*))?$/.exec(part);
    if (!m) throw new Error(`invalid label selector term "${part}"`);
    const [, not, key, op, value] = m;
    if (op) {
      if (not) throw new Error(`invalid label selector term "${part}"`);
      out.push({ key: key!, op: op === "!=" ? "!=" : "=", value: value ?? "" });
    } else out.push({ key: key!, op: not ? "!exists" : "exists" });
  }
  return out;
}

export function matchesSelector(labels: Readonly<Record<string, string>>, sel: LabelSelector | undefined): boolean {
  if (!sel) return true;
  for (const t of sel) {
    const has = Object.hasOwn(labels, t.key);
    if (t.op === "exists" && !has) return false;
    if (t.op === "!exists" && has) return false;
    if (t.op === "=" && labels[t.key] !== t.value) return false;
    if (t.op === "!=" && labels[t.key] === t.value) return false;
  }
  return true;
}

interface MutableService {
  name: string;
  namespace: string;
  version?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  source: ServiceSource;
  endpoints: Map<string, CatalogEndpoint>;
  /** Other nodes' endpoints, by catalog id. */
  remote: Map<string, CatalogEndpoint>;
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;

export interface CatalogOptions {
  now?: () => number;
  /** Overrides persisted by an earlier run. */
  overrides?: CatalogOverrides;
  /** Stores the whole set of overrides; a throw refuses the change (nothing is changed). */
  persist?: (o: CatalogOverrides) => void;
}

export function createCatalog(opts: CatalogOptions = {}): Catalog {
  const now = opts.now ?? Date.now;
  const services = new Map<string, MutableService>();
  let overrides: CatalogOverrides = structuredClone(opts.overrides ?? {});
  const commit = (next: CatalogOverrides) => {
    opts.persist?.(next);
    overrides = next;
  };
  const endpointOverride = (k: string, id: string): EndpointOverride | undefined => overrides[k]?.endpoints?.[id];
  const listeners = new Set<(c: CatalogChange) => void>();
  let version = 0;

  /** Local endpoints, then remote ones; a remote endpoint at an address:port already listed is a copy (two nodes
   *  with the same static service) and is left out, so nothing is balanced to or answered twice. */
  const withRemote = (s: MutableService): CatalogEndpoint[] => {
    const out = [...s.endpoints.values()];
    const seen = new Set(out.map((e) => `${e.address}|${e.port}`));
    for (const e of s.remote.values()) {
      const k = `${e.address}|${e.port}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push(e);
    }
    return out;
  };

  const view = (s: MutableService): CatalogService => ({
    name: s.name,
    namespace: s.namespace,
    ...(s.version !== undefined ? { version: s.version } : {}),
    labels: s.labels,
    annotations: s.annotations,
    source: s.source,
    endpoints: s.remote.size === 0 ? [...s.endpoints.values()] : withRemote(s),
    ...(overrides[key(s.namespace, s.name)]?.maintenance ? { maintenance: overrides[key(s.namespace, s.name)]!.maintenance! } : {}),
  });
  const emit = (c: CatalogChange) => {
    version++;
    for (const fn of listeners) {
      try {
        fn(c);
      } catch {
        // Listeners are the supervisor's own; one failing must not block the others.
      }
    }
  };
  const makeEndpoint = (k: string, ep: EndpointInput, prev?: CatalogEndpoint): CatalogEndpoint => {
    const o = endpointOverride(k, ep.id);
    return {
      id: ep.id,
      address: ep.address,
      port: ep.port,
      protocol: ep.protocol,
      weight: o?.weight ?? ep.weight,
      metadata: { ...ep.metadata },
      health: ep.health ?? prev?.health ?? "passing",
      healthSince: prev && (ep.health === undefined || ep.health === prev.health) ? prev.healthSince : now(),
      draining: o?.draining || (ep.draining ?? prev?.draining ?? false),
      ...(prev?.output !== undefined ? { output: prev.output } : {}),
    };
  };
  const withEndpoint = (namespace: string, name: string, id: string, f: (s: MutableService, e: CatalogEndpoint) => CatalogEndpoint | undefined, kind: "endpoint.updated" | "endpoint.health") => {
    const s = services.get(key(namespace, name));
    const e = s?.endpoints.get(id);
    if (!s || !e) return false;
    const next = f(s, e);
    if (!next) return true;
    s.endpoints.set(id, next);
    if (kind === "endpoint.health") emit({ kind, service: view(s), endpoint: next, from: e.health });
    else emit({ kind, service: view(s), endpoint: next });
    return true;
  };

  return {
    get version() {
      return version;
    },
    upsertService(input, source) {
      const k = key(input.namespace, input.name);
      const prev = services.get(k);
      const s: MutableService = {
        name: input.name,
        namespace: input.namespace,
        ...(input.version !== undefined ? { version: input.version } : {}),
        labels: { ...input.labels },
        annotations: { ...input.annotations },
        source,
        endpoints: prev?.endpoints ?? new Map(),
        remote: prev?.remote ?? new Map(),
      };
      services.set(k, s);
      emit({ kind: prev ? "service.updated" : "service.registered", service: view(s) });
      if (input.endpoints) {
        const keep = new Set(input.endpoints.map((e) => e.id));
        for (const [id, e] of [...s.endpoints]) {
          if (!keep.has(id)) {
            s.endpoints.delete(id);
            emit({ kind: "endpoint.removed", service: view(s), endpoint: e });
          }
        }
        for (const ep of input.endpoints) {
          const before = s.endpoints.get(ep.id);
          const next = makeEndpoint(k, ep, before);
          s.endpoints.set(ep.id, next);
          if (!before) emit({ kind: "endpoint.added", service: view(s), endpoint: next });
          else if (JSON.stringify(before) !== JSON.stringify(next)) emit({ kind: "endpoint.updated", service: view(s), endpoint: next });
        }
      }
      return view(s);
    },
    removeService(namespace, name) {
      const s = services.get(key(namespace, name));
      if (!s || s.source === "cluster") return false;
      services.delete(key(namespace, name));
      emit({ kind: "service.deregistered", service: view({ ...s, remote: new Map() }) });
      // Other nodes still serve it: it stays, known from the cluster only.
      if (s.remote.size > 0) {
        const left: MutableService = { ...s, source: "cluster", endpoints: new Map() };
        services.set(key(namespace, name), left);
        emit({ kind: "service.registered", service: view(left) });
      }
      return true;
    },
    upsertEndpoint(namespace, name, ep) {
      const k = key(namespace, name);
      const s = services.get(k);
      if (!s) return undefined;
      const before = s.endpoints.get(ep.id);
      const next = makeEndpoint(k, ep, before);
      s.endpoints.set(ep.id, next);
      emit({ kind: before ? "endpoint.updated" : "endpoint.added", service: view(s), endpoint: next });
      return next;
    },
    removeEndpoint(namespace, name, id) {
      const s = services.get(key(namespace, name));
      const e = s?.endpoints.get(id);
      if (!s || !e) return false;
      s.endpoints.delete(id);
      emit({ kind: "endpoint.removed", service: view(s), endpoint: e });
      return true;
    },
    setHealth(namespace, name, id, health, output) {
      return withEndpoint(namespace, name, id, (_s, e) => {
        if (e.health === health) return undefined;
        return { ...e, health, healthSince: now(), ...(output !== undefined ? { output } : {}) };
      }, "endpoint.health");
    },
    setDraining(namespace, name, id, draining) {
      return withEndpoint(namespace, name, id, (_s, e) => (e.draining === draining ? undefined : { ...e, draining }), "endpoint.updated");
    },
    setWeight(namespace, name, id, weight) {
      return withEndpoint(namespace, name, id, (_s, e) => (e.weight === weight ? undefined : { ...e, weight }), "endpoint.updated");
    },
    setEndpointOverride(namespace, name, id, o) {
      const k = key(namespace, name);
      const entry = overrides[k] ?? {};
      commit({ ...overrides, [k]: { ...entry, endpoints: { ...entry.endpoints, [id]: { ...entry.endpoints?.[id], ...o } } } });
      const s = services.get(k);
      const e = s?.endpoints.get(id);
      if (!s || !e) return;
      const merged = endpointOverride(k, id)!;
      const next = { ...e, ...(merged.weight !== undefined ? { weight: merged.weight } : {}), ...(merged.draining !== undefined ? { draining: merged.draining } : {}) };
      if (next.weight === e.weight && next.draining === e.draining) return;
      s.endpoints.set(id, next);
      emit({ kind: "endpoint.updated", service: view(s), endpoint: next });
    },
    setMaintenance(namespace, name, m) {
      const k = key(namespace, name);
      const { maintenance: _old, ...rest } = overrides[k] ?? {};
      commit({ ...overrides, [k]: m ? { ...rest, maintenance: m } : rest });
      const s = services.get(k);
      if (s) emit({ kind: "service.updated", service: view(s) });
    },
    maintenance: (namespace, name) => overrides[key(namespace, name)]?.maintenance,
    overrides: () => structuredClone(overrides),
    endpointOverride: (namespace, name, id) => endpointOverride(key(namespace, name), id),
    get(namespace, name) {
      const s = services.get(key(namespace, name));
      return s ? view(s) : undefined;
    },
    list(filter = {}) {
      const out: CatalogService[] = [];
      for (const s of services.values()) {
        if (filter.namespace && s.namespace !== filter.namespace) continue;
        if (!matchesSelector(s.labels, filter.selector)) continue;
        out.push(view(s));
      }
      return out.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
    },
    resolve(name, namespace, o = {}) {
      const s = services.get(key(namespace, name));
      if (!s || !matchesSelector(s.labels, o.selector)) return s && !o.selector ? [] : undefined;
      const out: CatalogEndpoint[] = [];
      if (overrides[key(namespace, name)]?.maintenance && !o.all) return out;
      for (const e of s.remote.size === 0 ? s.endpoints.values() : withRemote(s)) {
        if (o.all) out.push(e);
        else if (e.health === "passing" || (!o.onlyPassing && e.health === "warning")) out.push(e);
      }
      return out;
    },
    applyRemote(upserts, removed, full) {
      const touched = new Set<MutableService>();
      if (full) {
        const keep = new Set(upserts.map((u) => `${key(u.namespace, u.service)}/${remoteEndpointId(u.endpoint.id, u.endpoint.node)}`));
        for (const s of services.values()) {
          for (const [id, e] of [...s.remote]) {
            if (keep.has(`${key(s.namespace, s.name)}/${id}`)) continue;
            s.remote.delete(id);
            touched.add(s);
            emit({ kind: "endpoint.removed", service: view(s), endpoint: e });
          }
        }
      }
      for (const r of removed) {
        const s = services.get(key(r.namespace, r.service));
        const e = s?.remote.get(r.id);
        if (!s || !e) continue;
        s.remote.delete(r.id);
        touched.add(s);
        emit({ kind: "endpoint.removed", service: view(s), endpoint: e });
      }
      for (const u of upserts) {
        const k = key(u.namespace, u.service);
        let s = services.get(k);
        if (!s) {
          s = { name: u.service, namespace: u.namespace, labels: { ...u.labels }, annotations: {}, source: "cluster", endpoints: new Map(), remote: new Map() };
          services.set(k, s);
          emit({ kind: "service.registered", service: view(s) });
        }
        const id = remoteEndpointId(u.endpoint.id, u.endpoint.node);
        const before = s.remote.get(id);
        const next: CatalogEndpoint = {
          ...u.endpoint,
          id,
          metadata: { ...u.endpoint.metadata },
          healthSince: before && before.health === u.endpoint.health ? before.healthSince : now(),
        };
        if (before && JSON.stringify(before) === JSON.stringify(next)) continue;
        s.remote.set(id, next);
        if (!before) emit({ kind: "endpoint.added", service: view(s), endpoint: next });
        else if (before.health !== next.health) emit({ kind: "endpoint.health", service: view(s), endpoint: next, from: before.health });
        else emit({ kind: "endpoint.updated", service: view(s), endpoint: next });
      }
      for (const s of touched) {
        if (s.source === "cluster" && s.remote.size === 0 && services.get(key(s.namespace, s.name)) === s) {
          services.delete(key(s.namespace, s.name));
          emit({ kind: "service.deregistered", service: view(s) });
        }
      }
    },
    criticalSince(before) {
      const out: Array<{ namespace: string; name: string; id: string }> = [];
      for (const s of services.values()) {
        for (const e of s.endpoints.values()) if (e.health === "critical" && e.healthSince <= before) out.push({ namespace: s.namespace, name: s.name, id: e.id });
      }
      return out;
    },
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}
