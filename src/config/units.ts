// Duration and byte-size schemas: config accepts "250ms", "10s", "5m", "1h" (or plain milliseconds) and "512MiB", "1GB" (or bytes).
import { Schema, SchemaTransformation } from "effect";

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const DURATION_FACTOR: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string): number {
  const m = DURATION.exec(text.trim());
  if (!m) throw new Error(`not a duration: ${text}`);
  return Math.round(Number(m[1]) * DURATION_FACTOR[m[2]!]!);
}

const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB|K|M|G)?$/;
const SIZE_FACTOR: Record<string, number> = {
  B: 1, K: 1024, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, M: 1024 ** 2, G: 1024 ** 3,
  KB: 1000, MB: 1000 ** 2, GB: 1000 ** 3,
};

export function parseSize(text: string): number {
  const m = SIZE.exec(text.trim());
  if (!m) throw new Error(`not a size: ${text}`);
  return Math.round(Number(m[1]) * SIZE_FACTOR[m[2] ?? "B"]!);
}

const NonNegative = Schema.Number.check(Schema.isGreaterThanOrEqualTo(0));

/** Milliseconds; written as a number of ms or a string such as "1.5s". */
export const Duration = Schema.Union([
  NonNegative,
  Schema.String.check(Schema.isPattern(DURATION, { message: 'Expected a duration such as "500ms", "10s", "5m" or "1h"' })),
])
  .annotate({ title: "duration", description: 'a duration: "500ms", "10s", "5m", "1h" or milliseconds' })
  .pipe(
  Schema.decodeTo(
    NonNegative,
    SchemaTransformation.transform<number, number | string>({
      decode: (v) => (typeof v === "number" ? v : parseDuration(v)),
      encode: (n) => n,
    }),
  ),
);

/** Bytes; written as a number or a string such as "512MiB". */
export const ByteSize = Schema.Union([
  NonNegative,
  Schema.String.check(Schema.isPattern(SIZE, { message: 'Expected a size such as "512MiB", "2GB" or a byte count' })),
])
  .annotate({ title: "size", description: 'a size: "512MiB", "2GB" or bytes' })
  .pipe(
  Schema.decodeTo(
    NonNegative,
    SchemaTransformation.transform<number, number | string>({
      decode: (v) => (typeof v === "number" ? v : parseSize(v)),
      encode: (n) => n,
    }),
  ),
);

export const Port = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 })).annotate({ title: "port" });

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** "host:port" with a port in range; decoded to {hostname, port}. */
export const Listen = Schema.String.check(
  Schema.makeFilter((s: string) => {
    const m = HOST_PORT.exec(s);
    if (!m) return 'Expected "host:port", such as "127.0.0.1:8080"';
    const port = Number(m[2]);
    return port <= 65535 ? undefined : `Expected a port between 0 and 65535, got ${port}`;
  }),
);

export function splitListen(s: string): { hostname: string; port: number } {
  const m = HOST_PORT.exec(s)!;
  return { hostname: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) };
}
