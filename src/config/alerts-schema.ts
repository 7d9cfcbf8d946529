// The `alerts:` section: built-in sources with their thresholds, receivers (webhooks) with routing and grouping,
// inhibition rules. Mapped to the engine's rules in src/config/alerts.ts.
import { Effect, Schema } from "effect";
import { parseMatcher } from "../core/alerts/matchers.ts";
import { ByteSize, Duration } from "./units.ts";

const def = <S extends Schema.Top>(schema: S, value: S["Encoded"]) => Schema.withDecodingDefaultKey<S>(Effect.succeed(value))(schema);

const Name = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, { message: "Expected a name of letters, digits, '.', '_' or '-' (1-63 characters, starting with a letter or digit)" }),
);
const Severity = Schema.Literals(["info", "warning", "critical"]);
const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1));
const Percent = Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 100 }));

/** A label matcher as Alertmanager writes it: `name=value`, `name!=value`, `name=~regex`, `name!~regex`. */
export const MatcherText = Schema.String.check(
  Schema.makeFilter((s: string) => {
    try {
      parseMatcher(s);
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  }),
);

const source = <F extends Schema.Struct.Fields>(severity: "info" | "warning" | "critical", fields: F) =>
  def(Schema.Struct({ enabled: def(Schema.Boolean, true), severity: def(Severity, severity), ...fields }), {} as never);

const Sources = Schema.Struct({
  /** A check critical for longer than `for`. */
  check_critical: source("critical", { for: def(Duration, "30s") }),
  /** An app whose replicas are in crash loop. */
  crash_loop: source("critical", {}),
  /** An app at its max replicas while its autoscaler wants more, for longer than `for`. */
  max_replicas: source("warning", { for: def(Duration, "1m") }),
  /** A balancer with no healthy endpoint, or in panic mode. */
  balancer_unhealthy: source("critical", {}),
  /** More than `max` outlier ejections of one balancer within `window`. */
  outlier_ejections: source("warning", { max: def(PositiveInt, 5), window: def(Duration, "5m") }),
  /** A listener's TLS certificate expiring within `days`. */
  tls_expiry: source("warning", { days: def(PositiveInt, 14) }),
  /** A worker thread that restarted within `window` (resolves after a window without restarts). */
  worker_restarts: source("warning", { window: def(Duration, "10m") }),
  /** The disk of the data dir above `percent` used. */
  disk: source("critical", { percent: def(Percent, 90) }),
  /** A cluster app's slot that no node can take (raised by the placement leader; resolves once placed). */
  unplaceable: source("critical", {}),
});

const Receiver = Schema.Struct({
  name: Name,
  url: Schema.String.check(Schema.isPattern(/^https?:\/\/\S+$/, { message: "Expected an http:// or https:// URL" })),
  /** Alerts this receiver gets: every matcher must hold (none: every alert). */
  matchers: def(Schema.Array(MatcherText), []),
  /** Only these severities (none: all). */
  severities: def(Schema.Array(Severity), []),
  group_by: Schema.optionalKey(Schema.Array(Schema.String)),
  group_wait: Schema.optionalKey(Duration),
  group_interval: Schema.optionalKey(Duration),
  repeat_interval: Schema.optionalKey(Duration),
  send_resolved: def(Schema.Boolean, true),
  timeout: def(Duration, "10s"),
  /** Attempts per notification before it is given up (failed). */
  max_attempts: def(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 100 })), 6),
  /** First retry delay; doubled per attempt up to max_backoff. */
  backoff: def(Duration, "1s"),
  max_backoff: def(Duration, "5m"),
  /** HMAC-SHA256 key: each body is signed in the X-Polis-Signature header ("sha256=<hex>"). */
  hmac_secret: Schema.optionalKey(Schema.String.check(Schema.isMinLength(16, { message: "Expected a secret of at least 16 characters" }))),
  headers: def(Schema.Record(Schema.String, Schema.String), {}),
  /** At most this many alerts per body; the rest is counted in truncatedAlerts (0: no limit). */
  max_alerts: def(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)), 0),
});

/** A node of the routing tree, as Alertmanager's `route:`; unset options come from the parent. */
export interface RouteConfig {
  readonly receiver?: string;
  readonly matchers: readonly string[];
  readonly continue: boolean;
  readonly group_by?: readonly string[];
  readonly group_wait?: number;
  readonly group_interval?: number;
  readonly repeat_interval?: number;
  readonly routes: readonly RouteConfig[];
}

/** Levels below the root. Written out level by level (a recursive schema cannot be walked by the schema tooling);
 * deeper trees are rare in Alertmanager configs and would be hard to read. */
export const ROUTE_DEPTH = 5;

const routeFields = {
  /** The receiver of the alerts this node takes (default: its parent's; the root must name one). */
  receiver: Schema.optionalKey(Name),
  /** Every matcher must hold for an alert to enter this node (the root takes every alert). */
  matchers: def(Schema.Array(MatcherText), []),
  /** After this node matched, go on trying its later siblings (default: the first matching sibling wins). */
  continue: def(Schema.Boolean, false),
  group_by: Schema.optionalKey(Schema.Array(Schema.String)),
  group_wait: Schema.optionalKey(Duration),
  group_interval: Schema.optionalKey(Duration),
  repeat_interval: Schema.optionalKey(Duration),
};
const routeLevel = (depth: number): Schema.Codec<RouteConfig, unknown> =>
  Schema.Struct({
    ...routeFields,
    /** Child nodes, tried in order; an alert no child takes stays with this node. */
    routes:
      depth === 0
        ? def(Schema.Array(Schema.Unknown).check(Schema.isMaxLength(0, { message: `Expected no routes: routes nest at most ${ROUTE_DEPTH} levels below the root` })), [])
        : def(Schema.Array(routeLevel(depth - 1)), []),
  }) as unknown as Schema.Codec<RouteConfig, unknown>;
const RouteNode = routeLevel(ROUTE_DEPTH);

const InhibitRule = Schema.Struct({
  source_matchers: Schema.Array(MatcherText).check(Schema.isMinLength(1, { message: "Expected at least one matcher" })),
  target_matchers: Schema.Array(MatcherText).check(Schema.isMinLength(1, { message: "Expected at least one matcher" })),
  equal: def(Schema.Array(Schema.String), []),
});

export const Alerts = Schema.Struct({
  /** How often the built-in sources are evaluated and groups flushed. */
  evaluation_interval: def(Duration, "1s"),
  sources: def(Sources, {}),
  group_by: def(Schema.Array(Schema.String), ["alertname"]),
  group_wait: def(Duration, "30s"),
  group_interval: def(Duration, "5m"),
  repeat_interval: def(Duration, "4h"),
  receivers: def(Schema.Array(Receiver), []),
  /** Alertmanager's routing tree. Without it, every receiver whose matchers hold gets an alert (flat routing). */
  route: Schema.optionalKey(RouteNode),
  inhibit_rules: def(Schema.Array(InhibitRule), []),
  /** Notifications waiting for delivery, at most; beyond it new ones are dropped and counted. */
  queue_size: def(PositiveInt, 1000),
  /** Resolved alerts kept (API and store); the oldest go first. */
  keep_resolved: def(PositiveInt, 5000),
  /** The base of generatorURL in webhook bodies (default: the admin API's address). */
  external_url: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^https?:\/\/\S+$/, { message: "Expected an http:// or https:// URL" }))),
  /** Largest body accepted from a receiver reply (the rest is not read). */
  reply_limit: def(ByteSize, "4KiB"),
});

export type AlertsConfig = typeof Alerts.Type;
export type ReceiverConfig = typeof Receiver.Type;
