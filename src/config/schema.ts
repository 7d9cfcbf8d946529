// The agent's config file, as one Effect Schema: every field, its default, and its bounds.
// Unknown keys are errors (decode with onExcessProperty: "error"), so a typo never passes silently.
import { Effect, Schema } from "effect";
import { Alerts } from "./alerts-schema.ts";
import { Cluster } from "./cluster.ts";
import { TaskDefinition, TaskQueue } from "./tasks-schema.ts";
import { ByteSize, Duration, Listen, Port } from "./units.ts";
import { Deploy } from "./deploy.ts";
import { Placement } from "./placement-schema.ts";
import { driverFields } from "./drivers.ts";

const def = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  Schema.withDecodingDefaultKey<S>(Effect.succeed(value))(schema);

const Name = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, {
    message: "Expected a name of letters, digits, '.', '_' or '-' (1-63 characters, starting with a letter or digit)",
  }),
);
const NonEmpty = Schema.String.check(Schema.isMinLength(1, { message: "Expected a non-empty string" }));
const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1));
const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0));
const Percent = Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 100 }));
const Fraction = Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }));
const StringMap = Schema.Record(Schema.String, Schema.String);
const LogLevel = Schema.Literals(["debug", "info", "warn", "error"]);

/** A replica count: a number, "auto" (one per core) or "Nx" (N times the core count, e.g. "0.5x"). */
export const ReplicaCount = Schema.Union([
  NonNegativeInt,
  Schema.Literal("auto"),
  Schema.String.check(Schema.isPattern(/^\d+(\.\d+)?x$/, { message: 'Expected a count, "auto" or a multiple of the core count such as "2x"' })),
]);

// ---------------------------------------------------------------------------------------------
// Health checks (shared by apps, which apply them to every replica, and standalone checks)

const ExpectStatus = Schema.Union([
  Schema.Int.check(Schema.isBetween({ minimum: 100, maximum: 599 })),
  Schema.String.check(Schema.isPattern(/^[1-5]\d\d-[1-5]\d\d$/, { message: 'Expected a status such as 200 or a range such as "200-299"' })),
]);

const Flapping = Schema.Struct({
  enabled: def(Schema.Boolean, true),
  window: def(Schema.Int.check(Schema.isBetween({ minimum: 4, maximum: 100 })), 20),
  high: def(Percent, 50),
  low: def(Percent, 25),
});

const checkFields = {
  kind: Schema.Literals(["http", "https", "tcp", "udp", "grpc", "command", "file", "ttl"]),
  interval: def(Duration, "10s"),
  timeout: def(Duration, "2s"),
  /** Without it, an app check runs as soon as a replica is ready and standalone checks are staggered. */
  initial_delay: Schema.optionalKey(Duration),
  unhealthy_interval: Schema.optionalKey(Duration),
  success_before_passing: def(PositiveInt, 1),
  failures_before_warning: def(PositiveInt, 1),
  failures_before_critical: def(PositiveInt, 1),
  // http / https
  method: def(Schema.Literals(["GET", "HEAD", "POST", "PUT", "OPTIONS"]), "GET"),
  /** http(s): the request path; file checks of an app: the file to check. */
  path: Schema.optionalKey(Schema.String),
  headers: def(StringMap, {}),
  expect_status: Schema.optionalKey(Schema.Array(ExpectStatus)),
  body_match: Schema.optionalKey(Schema.String),
  tls_skip_verify: def(Schema.Boolean, false),
  // tcp / udp
  send: Schema.optionalKey(Schema.String),
  expect: Schema.optionalKey(Schema.String),
  // grpc
  service: Schema.optionalKey(Schema.String),
  // command
  command: Schema.optionalKey(NonEmpty),
  args: def(Schema.Array(Schema.String), []),
  // file
  max_age: Schema.optionalKey(Duration),
  content_match: Schema.optionalKey(Schema.String),
  // ttl
  ttl: Schema.optionalKey(Duration),
  detector: def(Schema.Literals(["ttl", "phi"]), "ttl"),
  phi_threshold: def(Schema.Number.check(Schema.isGreaterThan(0)), 8),
  flapping: def(Flapping, {}),
} as const;

/** A check attached to an app: its target is each replica. */
export const AppCheck = Schema.Struct({ name: def(Name, "default"), ...checkFields });

/** A standalone check of any endpoint (remote hosts, databases, files). */
export const StandaloneCheck = Schema.Struct({
  name: Name,
  /** URL for http(s); host:port for tcp, udp and grpc; a path for file. */
  target: Schema.optionalKey(NonEmpty),
  ...checkFields,
});

// ---------------------------------------------------------------------------------------------
// Apps (supervised replicas)

const PortAllocation = Schema.Union([
  Schema.Struct({ range: Schema.Tuple([Port, Port]), env: def(NonEmpty, "PORT") }),
  Schema.Struct({ shared: Port, env: def(NonEmpty, "PORT") }),
  Schema.Struct({ none: Schema.Literal(true) }),
]);

const Readiness = Schema.Struct({
  /** "auto": "port" when the app has a port allocation, else "none". */
  kind: def(Schema.Literals(["auto", "port", "check", "stdout", "none"]), "auto"),
  pattern: Schema.optionalKey(NonEmpty),
  timeout: def(Duration, "30s"),
});

const Restart = Schema.Struct({
  policy: def(Schema.Literals(["always", "on-failure", "never"]), "always"),
  initial_delay: def(Duration, "100ms"),
  max_delay: def(Duration, "15s"),
  factor: def(Schema.Number.check(Schema.isBetween({ minimum: 1, maximum: 10 })), 2),
  stable_after: def(Duration, "30s"),
  /** The first restart after a stable run is immediate; backoff starts at the second consecutive crash. */
  immediate_first: def(Schema.Boolean, true),
  crash_loop: def(
    Schema.Struct({
      max_restarts: def(PositiveInt, 10),
      window: def(Duration, "60s"),
      cooldown: def(Duration, "5m"),
      /** A run that was ready and lasted this long is stable: its restart does not count (PM2's min_uptime). */
      min_uptime: def(Duration, "1s"),
    }),
    {},
  ),
});

const Stop = Schema.Struct({
  signal: def(Schema.Literals(["SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2"]), "SIGTERM"),
  timeout: def(Duration, "10s"),
});

const Logs = Schema.Struct({
  max_size: def(ByteSize, "10MiB"),
  files: def(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 100 })), 3),
  ring_lines: def(Schema.Int.check(Schema.isBetween({ minimum: 10, maximum: 100_000 })), 1000),
});

const Watchdog = Schema.Struct({
  timeout: Duration,
  pattern: def(NonEmpty, "^HEARTBEAT\\b"),
});

// Autoscaling policy (Kubernetes HPA semantics; see src/core/scaling). min/max come from the app's replicas.
const ScalingMetric = Schema.Struct({
  name: Schema.String.check(
    Schema.isPattern(/^(cpu|memory|rps_per_replica|latency_p95_ms|inflight_per_replica|custom:[A-Za-z0-9_.-]+)$/, {
      message: "Expected one of cpu, memory, rps_per_replica, latency_p95_ms, inflight_per_replica or custom:<name>",
    }),
  ),
  /** cpu and memory: utilization in % of the request; the others: per-replica average. */
  target: Schema.Number.check(Schema.isGreaterThan(0, { message: "Expected a target greater than 0" })),
});

const ScalingRule = Schema.Struct({
  type: Schema.Literals(["pods", "percent"]),
  value: PositiveInt,
  period: Duration,
});

const ScalingDirection = Schema.Struct({
  stabilization_window: Schema.optionalKey(Duration),
  select_policy: Schema.optionalKey(Schema.Literals(["max", "min", "disabled"])),
  policies: Schema.optionalKey(Schema.Array(ScalingRule)),
  tolerance: Schema.optionalKey(Fraction),
  cooldown: Schema.optionalKey(Duration),
});

export const ScalingPolicy = Schema.Struct({
  metrics: Schema.Array(ScalingMetric).check(Schema.isMinLength(1, { message: "Expected at least one metric" })),
  metric_window: def(Duration, "15s"),
  scale_up: def(ScalingDirection, {}),
  scale_down: def(ScalingDirection, {}),
  predictive: def(
    Schema.Struct({
      enabled: def(Schema.Boolean, false),
      weight: def(Fraction, 0.5),
      horizon: def(Duration, "10m"),
      step: def(Duration, "5m"),
      season: def(Duration, "24h"),
      max_mape: def(Percent, 30),
      method: def(Schema.Literals(["holt-winters", "seasonal-naive"]), "holt-winters"),
    }),
    {},
  ),
  dry_run: def(Schema.Boolean, false),
  /** A manual scale (API or `polis scale`) pauses autoscaling this long, unless the request names its own window. */
  manual_pause: def(Duration, "10m"),
  /** CPU utilization is measured against this share of a core in millicores (default: resources.cpu, else 1000). */
  cpu_request: Schema.optionalKey(Schema.Number.check(Schema.isGreaterThan(0))),
  /** Memory utilization is measured against this (default: resources.memory, else max_memory when set). */
  memory_request: Schema.optionalKey(ByteSize),
});

export const App = Schema.Struct({
  name: Name,
  command: NonEmpty,
  args: def(Schema.Array(Schema.String), []),
  cwd: Schema.optionalKey(NonEmpty),
  env: def(StringMap, {}),
  replicas: def(
    Schema.Union([ReplicaCount, Schema.Struct({ min: ReplicaCount, max: ReplicaCount })]),
    1,
  ),
  port: def(PortAllocation, { none: true }),
  readiness: def(Readiness, {}),
  restart: def(Restart, {}),
  stop: def(Stop, {}),
  max_memory: Schema.optionalKey(ByteSize),
  watchdog: Schema.optionalKey(Watchdog),
  logs: def(Logs, {}),
  checks: def(Schema.Array(AppCheck), []),
  scaling: Schema.optionalKey(ScalingPolicy),
  deploy: def(Deploy, {}),
  /** Where the replicas run: this node (default) or slots the cluster leader places across nodes. */
  placement: def(Placement, {}),
  ...driverFields,
});

// ---------------------------------------------------------------------------------------------
// Balancers (data plane)

const StaticEndpoint = Schema.Struct({
  address: Listen,
  weight: def(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1000 })), 1),
});

/** Where backup endpoints come from: served only while no primary endpoint is eligible, or while failed over. */
const BackupBackends = Schema.Struct({
  app: Schema.optionalKey(Name),
  service: Schema.optionalKey(Name),
  namespace: def(Name, "default"),
  endpoints: def(Schema.Array(StaticEndpoint), []),
});

const Backends = Schema.Struct({
  app: Schema.optionalKey(Name),
  service: Schema.optionalKey(Name),
  namespace: def(Name, "default"),
  endpoints: def(Schema.Array(StaticEndpoint), []),
  /** With cluster: an app's replicas on this node only, or on every node (a service always spans the cluster). */
  scope: def(Schema.Literals(["node", "cluster"]), "node"),
  /** HAProxy `backup` servers, Envoy's second priority level: they take traffic when no primary endpoint can. */
  backup: Schema.optionalKey(BackupBackends),
});

const Algorithm = Schema.Literals([
  "round_robin", "weighted_round_robin", "least_connections", "least_request", "random",
  "ip_hash", "consistent_hash", "maglev", "peak_ewma",
]);

const HashKey = Schema.Struct({
  source: Schema.Literals(["ip", "header", "cookie", "path"]),
  name: Schema.optionalKey(NonEmpty),
});

const TlsFiles = Schema.Struct({ cert_file: NonEmpty, key_file: NonEmpty });

export const Balancer = Schema.Struct({
  name: Name,
  listen: Listen,
  protocol: def(Schema.Literals(["http", "tcp", "udp"]), "http"),
  backends: Backends,
  algorithm: def(Algorithm, "least_request"),
  hash_key: def(HashKey, { source: "ip" }),
  /** Bounded loads (consistent_hash, maglev): no endpoint takes more than this times its weighted share of in-flight requests. */
  hash_balance_factor: Schema.optionalKey(Schema.Number.check(Schema.isGreaterThanOrEqualTo(1))),
  ring_hash: def(
    Schema.Struct({
      /** Ring points per unit of weight; an endpoint's share is off its weight by about 1/sqrt(points). */
      points_per_weight: def(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1 << 20 })), 4096),
      /** Memory cap on one ring (8 bytes a point); above it the density halves until the ring fits. */
      max_points: def(Schema.Int.check(Schema.isBetween({ minimum: 65536, maximum: 1 << 24 })), 1 << 22),
    }),
    {},
  ),
  maglev: def(
    Schema.Struct({
      /** Lookup-table slots: a prime, at least 100 per endpoint for a 1% spread (655373 for large pools). */
      table_size: def(Schema.Int.check(Schema.isBetween({ minimum: 1009, maximum: 5000011 })), 65537),
    }),
    {},
  ),
  timeouts: def(
    Schema.Struct({
      connect: def(Duration, "2s"),
      request: def(Duration, "30s"),
      idle: def(Duration, "60s"),
      header: def(Duration, "10s"),
    }),
    {},
  ),
  retries: def(
    Schema.Struct({
      max: def(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 10 })), 2),
      budget_percent: def(Percent, 20),
      min_per_second: def(NonNegativeInt, 3),
    }),
    {},
  ),
  outlier: def(
    Schema.Struct({
      enabled: def(Schema.Boolean, true),
      consecutive_5xx: def(PositiveInt, 5),
      consecutive_gateway_failure: def(PositiveInt, 5),
      base_ejection_time: def(Duration, "30s"),
      max_ejection_time: def(Duration, "300s"),
      max_ejection_percent: def(Percent, 10),
    }),
    {},
  ),
  slow_start: def(
    Schema.Struct({
      window: def(Duration, 0),
      min_weight_percent: def(Percent, 10),
      aggression: def(Schema.Number.check(Schema.isGreaterThan(0)), 1),
    }),
    {},
  ),
  max_connections_per_endpoint: Schema.optionalKey(PositiveInt),
  sticky: Schema.optionalKey(Schema.Struct({ cookie: NonEmpty, ttl: Schema.optionalKey(Duration) })),
  drain_timeout: def(Duration, "30s"),
  /** With no endpoint at all, hold requests this long for one to appear (default: 30s for an app with min 0, else 0). */
  hold_when_empty: Schema.optionalKey(Duration),
  panic_threshold: def(Percent, 50),
  /** Which cluster endpoints take traffic first; a nearer tier spills over as its healthy share drops (Envoy's overprovisioning). */
  locality: def(
    Schema.Struct({
      prefer: def(Schema.Literals(["node", "zone", "none"]), "node"),
      overprovisioning: def(Schema.Number.check(Schema.isBetween({ minimum: 1, maximum: 10 })), 1.4),
    }),
    {},
  ),
  warning_weight: def(Fraction, 0.5),
  udp_idle_timeout: def(Duration, "30s"),
  tls: Schema.optionalKey(TlsFiles),
  upstream_tls: Schema.optionalKey(
    Schema.Struct({
      verify: def(Schema.Boolean, true),
      ca_file: Schema.optionalKey(NonEmpty),
      servername: Schema.optionalKey(NonEmpty),
    }),
  ),
  /** How HTTP/2 clients' streams reach the endpoints: HTTP/1.1, h2c (cleartext HTTP/2, what gRPC servers speak) or h2 (TLS). */
  upstream_protocol: def(Schema.Literals(["http1", "h2c", "h2"]), "http1"),
  http2: def(
    Schema.Struct({
      /** Accept HTTP/2 on this listener: h2c prior knowledge, and h2 by ALPN when tls is set. HTTP/1.1 keeps working. */
      enabled: def(Schema.Boolean, true),
      /** Streams one client connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
      max_concurrent_streams: def(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10_000 })), 100),
      /** Streams one upstream connection carries at once (the endpoint's own SETTINGS lower it); more open more connections. */
      upstream_max_streams: def(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10_000 })), 100),
    }),
    {},
  ),
});

// ---------------------------------------------------------------------------------------------
// Static services, DNS, API, telemetry, agent

const ServiceEndpoint = Schema.Struct({
  id: Schema.optionalKey(Name),
  address: NonEmpty,
  port: Port,
  protocol: def(Schema.Literals(["http", "https", "tcp", "udp", "grpc"]), "http"),
  weight: def(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 65535 })), 1),
  metadata: def(StringMap, {}),
});

export const Service = Schema.Struct({
  name: Name,
  namespace: def(Name, "default"),
  version: Schema.optionalKey(Schema.String),
  labels: def(StringMap, {}),
  annotations: def(StringMap, {}),
  endpoints: def(Schema.Array(ServiceEndpoint), []),
});

const Token = Schema.Struct({
  name: def(Name, "token"),
  token: Schema.String.check(Schema.isMinLength(16, { message: "Expected a token of at least 16 characters" })),
  role: def(Schema.Literals(["read", "operator", "admin"]), "admin"),
});

const Api = Schema.Struct({
  listen: def(Listen, "127.0.0.1:9090"),
  tokens: def(Schema.Array(Token), []),
  jwt: Schema.optionalKey(
    Schema.Struct({
      secret: Schema.optionalKey(Schema.String.check(Schema.isMinLength(32))),
      public_key_file: Schema.optionalKey(NonEmpty),
      issuer: Schema.optionalKey(NonEmpty),
      audience: Schema.optionalKey(NonEmpty),
    }),
  ),
  tls: Schema.optionalKey(TlsFiles),
  /** The same API over gRPC (proto/polis/v1), on its own listener; TLS with api.tls when set. Off unless present. */
  grpc: Schema.optionalKey(Schema.Struct({ listen: def(Listen, "127.0.0.1:9091") })),
  body_limit: def(ByteSize, "1MiB"),
  allow_api_command_checks: def(Schema.Boolean, false),
  /** Lets POST /v1/tasks create tasks with any command (operator role); otherwise only tasks declared in config run. */
  allow_api_tasks: def(Schema.Boolean, false),
  /**
   * Lets PATCH /v1/config and POST /v1/apps/:name/deployments change what runs (add an app; an app's command,
   * args, cwd, env, logs, driver or oci settings; command checks; task definitions). Off: only the config file can.
   */
  allow_api_commands: def(Schema.Boolean, false),
});

const Dns = Schema.Struct({
  enabled: def(Schema.Boolean, true),
  listen: def(Listen, "127.0.0.1:8600"),
  domain: def(Name, "polis"),
  ttl: def(Duration, "5s"),
});

const Telemetry = Schema.Struct({
  prometheus: def(Schema.Boolean, true),
  otlp: Schema.optionalKey(
    Schema.Struct({
      endpoint: NonEmpty,
      interval: def(Duration, "10s"),
      headers: def(StringMap, {}),
    }),
  ),
});

const Discovery = Schema.Struct({
  deregister_critical_after: Schema.optionalKey(Duration),
});

const Agent = Schema.Struct({
  name: Schema.optionalKey(Name),
  data_dir: def(NonEmpty, "./data"),
  log_level: def(LogLevel, "info"),
  balancer_workers: def(ReplicaCount, "auto"),
  shutdown_timeout: def(Duration, "10s"),
  /** How often the autoscaler evaluates every app (Kubernetes: 15 s; we can afford 1 s). */
  scaler_interval: def(Duration, "1s"),
  /** Only for tests: lets POST /v1/agent/workers/:name/crash make a worker fail on purpose. */
  allow_fault_injection: def(Schema.Boolean, false),
});

const Policies = Schema.Struct({
  /** Directory of policy files (*.yaml, *.yml, *.json); relative to the config file. Default: `policies` beside it. */
  dir: Schema.optionalKey(NonEmpty),
  /** How often every policy is evaluated. */
  interval: def(Duration.check(Schema.isGreaterThanOrEqualTo(100, { message: "Expected at least 100ms" })), "1s"),
  /** Audit records kept (the oldest are dropped). */
  audit_retention: def(Schema.Int.check(Schema.isBetween({ minimum: 100, maximum: 1_000_000 })), 10_000),
  /** Off: no policy is evaluated (the API still validates and stores them). */
  enabled: def(Schema.Boolean, true),
});

const HealingRung = Schema.Struct({
  rung: Schema.Literals(["restart", "replace", "scale_out", "failover"]),
  attempts: def(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10 })), 1),
  /** Wait after an attempt before the next (doubled per attempt on the same rung, capped by max_backoff). */
  backoff: def(Duration, "10s"),
});

/** The built-in recovery ladder, one per app replica with an endpoint (docs/policies.md, Self-healing). */
const Healing = Schema.Struct({
  /** Off: no ladder runs (the health, restart and ejection reflexes still do). */
  enabled: def(Schema.Boolean, true),
  /** How often every replica's verdict is taken. */
  interval: def(Duration.check(Schema.isGreaterThanOrEqualTo(100, { message: "Expected at least 100ms" })), "1s"),
  /** An unhealthy verdict must hold this long before the ladder starts (a flap does not restart anything). */
  unhealthy_for: def(Duration, "10s"),
  /** A healthy verdict held this long ends an episode and undoes scale out and failover (hysteresis). */
  recover_after: def(Duration, "30s"),
  max_backoff: def(Duration, "5m"),
  /** The rungs in order; the default is restart x2 (5s), replace (15s), scale_out (30s), failover (30s). */
  rungs: Schema.optionalKey(Schema.Array(HealingRung).check(Schema.isMinLength(1, { message: "Expected at least one rung" }))),
  /** Apps the ladder leaves alone. */
  exclude: def(Schema.Array(Name), []),
  /** Severity of the alert raised when the ladder is exhausted. */
  alert_severity: def(Schema.Literals(["info", "warning", "critical"]), "critical"),
});

export const Config = Schema.Struct({
  agent: def(Agent, {}),
  api: def(Api, {}),
  apps: def(Schema.Array(App), []),
  checks: def(Schema.Array(StandaloneCheck), []),
  balancers: def(Schema.Array(Balancer), []),
  services: def(Schema.Array(Service), []),
  dns: def(Dns, {}),
  telemetry: def(Telemetry, {}),
  discovery: def(Discovery, {}),
  alerts: def(Alerts, {}),
  /** Absent: one host, no etcd. */
  cluster: Schema.optionalKey(Cluster),
  tasks: def(Schema.Array(TaskDefinition), []),
  task_queue: def(TaskQueue, {}),
  policies: def(Policies, {}),
  healing: def(Healing, {}),
});

export type Config = typeof Config.Type;
export type AppConfig = typeof App.Type;
export type BalancerConfig = typeof Balancer.Type;
export type AppCheckConfig = typeof AppCheck.Type;
export type StandaloneCheckConfig = typeof StandaloneCheck.Type;
export type ServiceConfig = typeof Service.Type;
export type PoliciesConfig = typeof Policies.Type;
export type HealingConfig = typeof Healing.Type;
export type ScalingPolicyConfig = typeof ScalingPolicy.Type;
