// Fakes for the supervisor links' narrow dependencies: a decoded config, recorded events, telemetry and messages.
import { decodeConfig } from "../../../src/config/load.ts";
import type { Config } from "../../../src/config/schema.ts";
import type { EventInput } from "../../../src/state/event-bus.ts";
import type { ReplicaRecord } from "../../../src/state/store.ts";

export function configOf(raw: unknown): Config {
  const r = decodeConfig(raw, "test");
  if (!r.ok) throw new Error(JSON.stringify(r.error.problems));
  return r.config;
}

/** Telemetry that records each call as [method, ...args]. */
export function recordingTelemetry() {
  const calls: Array<[string, ...unknown[]]> = [];
  const t = new Proxy({} as Record<string, (...a: unknown[]) => unknown>, {
    get: (_, name) => (...args: unknown[]) => {
      calls.push([String(name), ...args]);
      return 0;
    },
  });
  return { telemetry: t as never, calls };
}

export function recordingEvents() {
  const events: EventInput[] = [];
  return { events, publish: (e: EventInput) => void events.push(e) };
}

/** The replica and key-value part of the store, in memory. */
export function memoryStore() {
  const replicas = new Map<string, ReplicaRecord>();
  const kv = new Map<string, unknown>();
  const scaling: Array<{ app: string; at: number; body: unknown }> = [];
  return {
    putReplica: (r: ReplicaRecord) => void replicas.set(`${r.app}/${r.id}`, r),
    deleteReplica: (app: string, id: string) => void replicas.delete(`${app}/${id}`),
    replicas: () => [...replicas.values()],
    getKv: <T>(k: string) => kv.get(k) as T | undefined,
    putKv: (k: string, v: unknown) => void kv.set(k, v),
    appendScaling: (app: string, at: number, body: unknown) => void scaling.push({ app, at, body }),
    scalingHistory: (app: string, limit: number) => scaling.filter((s) => s.app === app).slice(-limit).map((s) => s.body),
  };
}
