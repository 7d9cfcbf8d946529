// /v1/events: the live event stream as a WebSocket or Server-Sent Events, with filters and resume by sequence number,
// plus a JSON page of recent events and single-use tickets for browsers.
import { Schema } from "effect";
import { Hono } from "hono";
import { upgradeWebSocket } from "hono/bun";
import { streamSSE } from "hono/streaming";
import type { AgentEvent, EventBus, Severity } from "../state/event-bus.ts";
import type { Principal, TicketStore } from "./auth.ts";
import { ApiError } from "./errors.ts";
import { decodeOrThrow, defineRoute, registry } from "./route.ts";

const SEVERITY_RANK: Record<Severity, number> = { debug: 0, info: 1, warning: 2, error: 3, critical: 4 };

export const EventQuery = Schema.Struct({
  /** Comma-separated types; "health.*" matches a prefix. */
  type: Schema.optionalKey(Schema.String),
  source: Schema.optionalKey(Schema.String),
  target: Schema.optionalKey(Schema.String),
  /** Minimum severity. */
  severity: Schema.optionalKey(Schema.Literals(["debug", "info", "warning", "error", "critical"])),
  /** Resume after this sequence number. */
  since: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^\d{1,15}$/, { message: "Expected a sequence number" }))),
  limit: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^\d{1,5}$/, { message: "Expected a number up to 99999" }))),
  ticket: Schema.optionalKey(Schema.String),
});
type EventQuery = typeof EventQuery.Type;

const EventSchema = Schema.Struct({
  seq: Schema.Number,
  ts: Schema.Number,
  type: Schema.String,
  source: Schema.String,
  target: Schema.String,
  severity: Schema.Literals(["debug", "info", "warning", "error", "critical"]),
  message: Schema.String,
  data: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown)),
});

export type EventFilter = (e: AgentEvent) => boolean;

export function compileFilter(q: EventQuery): EventFilter {
  const types = q.type?.split(",").map((t) => t.trim()).filter(Boolean) ?? [];
  for (const t of types) {
    if (!/^[a-z0-9_.-]+(\.\*)?$|^\*$/.test(t)) throw new ApiError(400, "invalid_filter", `invalid type filter "${t}"`, { field: "type", value: t });
  }
  const min = q.severity ? SEVERITY_RANK[q.severity] : 0;
  return function matches(e) {
    if (types.length > 0 && !types.some((t) => t === "*" || t === e.type || (t.endsWith(".*") && e.type.startsWith(t.slice(0, -1))))) return false;
    if (q.source && e.source !== q.source) return false;
    if (q.target && e.target !== q.target) return false;
    return SEVERITY_RANK[e.severity] >= min;
  };
}

export interface EventRouteDeps {
  bus: EventBus;
  tickets: TicketStore;
  /** A consumer whose unsent backlog passes this many bytes is dropped, so it cannot grow our memory. */
  maxBufferedBytes?: number;
  onDrop?: (why: string) => void;
}

/** The message a resuming client gets when events it asked for already left the ring. */
const gapNotice = (after: number, firstAvailable: number | undefined) => ({
  type: "stream.gap",
  message: `events after ${after} are no longer kept; resuming from ${firstAvailable ?? "now"}`,
  after,
  firstAvailable,
});

export function eventRoutes(deps: EventRouteDeps): Hono {
  const app = new Hono();
  const maxBuffered = deps.maxBufferedBytes ?? 1 << 20;

  defineRoute(app, "/events", { method: "post", path: "/ticket", summary: "Issue a single-use, 30-second ticket for opening the event stream without headers", response: Schema.Struct({ ticket: Schema.String, expiresAt: Schema.Number }), role: "read", status: 201 }, (c) => {
    const p = c.get("principal" as never) as Principal;
    return deps.tickets.issue(p);
  });

  registry.push({ method: "get", path: "/v1/events", summary: "Events: a WebSocket (upgrade; token as subprotocol bearer.<token> or ?ticket=), Server-Sent Events (Accept: text/event-stream; resume with Last-Event-ID), or a JSON page; filters type, source, target, severity, since", query: EventQuery, response: Schema.Struct({ events: Schema.Array(EventSchema), gap: Schema.Boolean, lastSeq: Schema.Number }), status: 200, role: "read" });
  // GET /v1/events: WebSocket when upgrading, SSE when the client accepts text/event-stream, else a JSON page.
  app.get(
    "/",
    async (c, next) => {
      const q = decodeOrThrow(EventQuery, c.req.query(), "query");
      c.set("eventQuery" as never, q as never);
      c.set("eventFilter" as never, compileFilter(q) as never);
      if (c.req.header("upgrade")?.toLowerCase() === "websocket") return next();
      const after = Number(q.since ?? c.req.header("last-event-id") ?? -1);
      const filter = c.get("eventFilter" as never) as EventFilter;
      if (!(c.req.header("accept") ?? "").includes("text/event-stream")) {
        const limit = Math.min(Number(q.limit ?? 100), 10_000);
        const { events, gap } = after >= 0 ? deps.bus.since(after) : { events: deps.bus.recent(limit), gap: false };
        return c.json({ events: events.filter(filter).slice(-limit), gap, lastSeq: deps.bus.lastSeq });
      }
      return streamSSE(c, async (stream) => {
        let pending = 0;
        let closed = false;
        const queue: AgentEvent[] = [];
        let wake: (() => void) | undefined;
        const unsubscribe = deps.bus.subscribe((e) => {
          if (closed || !filter(e)) return;
          queue.push(e);
          pending += 1;
          if (pending > 10_000) {
            closed = true;
            deps.onDrop?.("sse consumer too slow");
          }
          wake?.();
        });
        stream.onAbort(() => {
          closed = true;
          wake?.();
        });
        try {
          if (after >= 0) {
            const { events, gap } = deps.bus.since(after);
            if (gap) await stream.writeSSE({ event: "stream.gap", data: JSON.stringify(gapNotice(after, events[0]?.seq)) });
            for (const e of events) if (filter(e)) await stream.writeSSE({ id: String(e.seq), event: e.type, data: JSON.stringify(e) });
          }
          while (!closed) {
            while (queue.length > 0 && !closed) {
              const e = queue.shift()!;
              pending--;
              if (after >= 0 && e.seq <= after) continue;
              await stream.writeSSE({ id: String(e.seq), event: e.type, data: JSON.stringify(e) });
            }
            if (closed) break;
            await new Promise<void>((r) => {
              wake = r;
              // A comment every 15 s keeps proxies from closing an idle stream.
              setTimeout(r, 15_000);
            });
            wake = undefined;
            if (queue.length === 0 && !closed) await stream.write(": keep-alive\n\n");
          }
          if (pending > 10_000) await stream.writeSSE({ event: "stream.dropped", data: JSON.stringify({ message: "consumer too slow; reconnect with Last-Event-ID to resume" }) });
        } finally {
          unsubscribe();
        }
      });
    },
    upgradeWebSocket((c) => {
      const q = c.get("eventQuery" as never) as EventQuery;
      const filter = c.get("eventFilter" as never) as EventFilter;
      let unsubscribe: (() => void) | undefined;
      return {
        onOpen(_evt, ws) {
          const raw = ws.raw as { getBufferedAmount?: () => number } | undefined;
          const send = (payload: unknown) => {
            if ((raw?.getBufferedAmount?.() ?? 0) > maxBuffered) {
              deps.onDrop?.("websocket consumer too slow");
              ws.send(JSON.stringify({ type: "stream.dropped", message: "consumer too slow; reconnect with ?since=<last seq> to resume" }));
              unsubscribe?.();
              ws.close(4008, "consumer too slow");
              return;
            }
            ws.send(JSON.stringify(payload));
          };
          if (q.since !== undefined) {
            const after = Number(q.since);
            const { events, gap } = deps.bus.since(after);
            if (gap) send(gapNotice(after, events[0]?.seq));
            for (const e of events) if (filter(e)) send(e);
          }
          unsubscribe = deps.bus.subscribe((e) => {
            if (filter(e)) send(e);
          });
        },
        onClose() {
          unsubscribe?.();
        },
      };
    }),
  );
  return app;
}

export { EventSchema };
