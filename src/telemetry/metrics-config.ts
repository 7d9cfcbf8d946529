// Resolves the metrics pipeline's settings from Polis config and the standard OTEL_* variables (config wins).
//
// Precedence, lowest to highest, for every setting:
//   built-in default  <  OTEL_* environment variable  <  value given by the caller (Polis config).
// An empty string from the caller counts as "not given", so `serviceName: ""` defers to OTEL_SERVICE_NAME.
//
//   resource      OTEL_RESOURCE_ATTRIBUTES < OTEL_SERVICE_NAME < serviceName / serviceVersion / instanceId
//   endpoint      OTEL_EXPORTER_OTLP_ENDPOINT (+ "v1/metrics") < OTEL_EXPORTER_OTLP_METRICS_ENDPOINT (as is)
//                 < otlp.endpoint (a bare origin such as http://host:4318 gets "/v1/metrics" appended)
//   headers       OTEL_EXPORTER_OTLP_HEADERS < OTEL_EXPORTER_OTLP_METRICS_HEADERS < otlp.headers, merged per key
//   interval      60000 < OTEL_METRIC_EXPORT_INTERVAL < otlp.intervalMs
//   timeout       min(30000, interval) < OTEL_METRIC_EXPORT_TIMEOUT (clamped to the interval)
// OTLP push is on when any endpoint is known (config or env) and OTEL_METRICS_EXPORTER does not say "none".

export interface OtlpOptions {
  readonly endpoint: string;
  readonly intervalMs: number;
  readonly headers: Readonly<Record<string, string>>;
}

export interface TelemetryOptions {
  readonly serviceName: string;
  readonly serviceVersion: string;
  readonly instanceId: string;
  readonly prometheus: boolean;
  readonly otlp?: OtlpOptions;
  /** Defaults to process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface ResolvedOtlp {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

export interface ResolvedTelemetryConfig {
  readonly resource: Record<string, string>;
  readonly otlp: ResolvedOtlp | undefined;
}

const DEFAULT_INTERVAL_MS = 60_000;
const DEFAULT_TIMEOUT_MS = 30_000;
/** Pushing more often than this only burns CPU on the collector and here. */
const MIN_INTERVAL_MS = 100;
const METRICS_PATH = "v1/metrics";

/** Parses the W3C-baggage-like `k=v,k2=v2` lists of OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS. */
export function parseKeyValueList(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const part of raw.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const key = decode(part.slice(0, eq).trim());
    if (key === "") continue;
    out[key] = decode(part.slice(eq + 1).trim());
  }
  return out;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function given(s: string | undefined): s is string {
  return s !== undefined && s.trim() !== "";
}

function positiveNumber(raw: string | undefined): number | undefined {
  if (!given(raw)) return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** Appends "v1/metrics" to a URL whose path is empty or "/"; leaves a URL with a path untouched. */
export function metricsUrl(endpoint: string, forceAppend = false): string {
  const url = new URL(endpoint);
  if (forceAppend || url.pathname === "" || url.pathname === "/") {
    url.pathname = `${url.pathname.replace(/\/+$/, "")}/${METRICS_PATH}`;
  }
  return url.toString();
}

export function resolveTelemetryConfig(opts: TelemetryOptions): ResolvedTelemetryConfig {
  const env = opts.env ?? process.env;
  const resource: Record<string, string> = parseKeyValueList(env.OTEL_RESOURCE_ATTRIBUTES);
  if (given(env.OTEL_SERVICE_NAME)) resource["service.name"] = env.OTEL_SERVICE_NAME.trim();
  if (given(opts.serviceName)) resource["service.name"] = opts.serviceName;
  if (given(opts.serviceVersion)) resource["service.version"] = opts.serviceVersion;
  if (given(opts.instanceId)) resource["service.instance.id"] = opts.instanceId;
  resource["service.name"] ??= "polis";
  return { resource, otlp: resolveOtlp(opts, env) };
}

function resolveOtlp(opts: TelemetryOptions, env: Readonly<Record<string, string | undefined>>): ResolvedOtlp | undefined {
  const configuredEndpoint = opts.otlp?.endpoint;
  if (env.OTEL_METRICS_EXPORTER?.trim() === "none" && !given(configuredEndpoint)) return undefined;
  let url: string | undefined;
  if (given(configuredEndpoint)) url = metricsUrl(configuredEndpoint);
  else if (given(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT)) url = new URL(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT.trim()).toString();
  else if (given(env.OTEL_EXPORTER_OTLP_ENDPOINT)) url = metricsUrl(env.OTEL_EXPORTER_OTLP_ENDPOINT.trim(), true);
  if (url === undefined) return undefined;
  const headers = {
    ...parseKeyValueList(env.OTEL_EXPORTER_OTLP_HEADERS),
    ...parseKeyValueList(env.OTEL_EXPORTER_OTLP_METRICS_HEADERS),
    ...(opts.otlp?.headers ?? {}),
  };
  const configured = opts.otlp?.intervalMs;
  const interval = Math.max(
    MIN_INTERVAL_MS,
    configured !== undefined && configured > 0 ? configured : (positiveNumber(env.OTEL_METRIC_EXPORT_INTERVAL) ?? DEFAULT_INTERVAL_MS),
  );
  const timeout = Math.min(interval, positiveNumber(env.OTEL_METRIC_EXPORT_TIMEOUT) ?? DEFAULT_TIMEOUT_MS);
  return { url, headers, intervalMs: interval, timeoutMs: timeout };
}
