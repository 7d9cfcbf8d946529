// The read-only slice of the service catalog that the DNS server answers from, plus an in-memory implementation.
//
// Contract:
// - `version` changes (any new value) whenever anything `resolve` could return changes; the DNS
//   server keys its encoded-answer cache on it, so a change that forgets to bump it is served stale.
// - `resolve(name, namespace)` receives lower-case names (DNS is case-insensitive) and returns
//   undefined for a service the catalog does not know (the DNS server answers NXDOMAIN), or every
//   endpoint it has, whatever its health (a known service with none answerable is NODATA).
// - Which endpoints are answered follows Consul: passing and warning ones are returned (a warning
//   service still serves), critical ones never are. `isAnswerable` is that rule, in one place.

export type EndpointHealth = "passing" | "warning" | "critical";

export interface ViewEndpoint {
  readonly id: string;
  /** IPv4 dotted quad or IPv6 text; A is answered for the former, AAAA for the latter. */
  readonly address: string;
  readonly port: number;
  /** Current effective weight; the SRV weight is this, rounded and clamped to 0..65535. */
  readonly weight: number;
  readonly health: EndpointHealth;
}

export interface ResolvedService {
  readonly endpoints: readonly ViewEndpoint[];
}

export interface CatalogView {
  readonly version: number;
  /** With `node`: only the endpoints on that cluster node (lower-cased), for NAME[.NS].NODE.node names. */
  resolve(name: string, namespace: string, node?: string): ResolvedService | undefined;
}

/** Consul's default: warning still answers, critical does not (its `only_passing` is our `onlyPassing`). */
export function isAnswerable(health: EndpointHealth, onlyPassing = false): boolean {
  return health === "passing" || (!onlyPassing && health === "warning");
}

export interface MemoryCatalogView extends CatalogView {
  /** Replaces the service's endpoints (an empty list keeps the service known). */
  set(name: string, namespace: string, endpoints: readonly ViewEndpoint[]): void;
  remove(name: string, namespace: string): void;
}

/** For tests, benchmarks and single-host setups: a Map keyed by "namespace/name", lower-cased. */
export function createMemoryCatalogView(): MemoryCatalogView {
  const services = new Map<string, ResolvedService>();
  let version = 0;
  const key = (name: string, namespace: string) => `${namespace.toLowerCase()}/${name.toLowerCase()}`;
  return {
    get version() {
      return version;
    },
    resolve: function resolveMemory(name, namespace) {
      return services.get(key(name, namespace));
    },
    set: function setMemory(name, namespace, endpoints) {
      services.set(key(name, namespace), { endpoints: endpoints.map((e) => ({ ...e })) });
      version++;
    },
    remove: function removeMemory(name, namespace) {
      if (services.delete(key(name, namespace))) version++;
    },
  };
}
