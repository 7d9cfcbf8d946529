// /v1/events: the live event stream as a WebSocket or Server-Sent Events, with filters and resume by sequence number,
// plus a JSON page of recent events and single-use tickets for browsers.
import { Schema } from "effect";
import { Hono } from "hono";
import { upgradeWebSocket } from "hono/bun";
import { streamSSE } from "hono/streaming";
import type { AgentEvent, EventBus, Severity } from "../state/event-bus.ts";
import type { Principal, TicketStore } from "./auth.ts";
import { ApiError } from "./errors.ts";
import { decodeOrThrow, defineRoute, QueryInt, registry } from "./route.ts";
import { SSE_KEEPALIVE_MS } from "./sse.ts";

const SEVERITY_RANK: Record<Severity, number> = { debug: 0, info: 1, warning: 2, error: 3, critical: 4 };

/** The most a JSON page holds, and the most a stream's `limit` may ask for. */
const MAX_LIMIT = 10_000;

export const EventQuery = Schema.Struct({
  type: Schema.optionalKey(Schema.String.annotate({ description: 'Comma-separated event types; "proc.*" matches a prefix, "*" every type' })),
  source: Schema.optionalKey(Schema.String.annotate({ description: "Only events from this source (supervisor, procs, health, ...)" })),
  target: Schema.optionalKey(Schema.String.annotate({ description: "Only events about this target (an app, check, endpoint...)" })),
  severity: Schema.optionalKey(Schema.Literals(["debug", "info", "warning", "error", "critical"]).annotate({ description: "Minimum severity" })),
  since: Schema.optionalKey(QueryInt(0, Number.MAX_SAFE_INTEGER).annotate({ description: "Resume after this sequence number (streams replay what is still kept, then go live)" })),
  limit: Schema.optionalKey(
    QueryInt(1, MAX_LIMIT).annotate({ description: "A JSON page holds at most this many events (default 100); a stream (WebSocket or SSE) ends after sending this many" }),
  ),
  ticket: Schema.optionalKey(Schema.String.annotate({ description: "A single-use ticket from POST /v1/events/ticket, instead of a token" })),
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

  registry.push({
    method: "get",
    path: "/v1/events",
    summary: "Events: a WebSocket (upgrade; token as subprotocol bearer.<token> or ?ticket=), Server-Sent Events (Accept: text/event-stream; resume with Last-Event-ID), or a JSON page; filters type, source, target, severity, since",
    query: EventQuery,
    response: Schema.Struct({ events: Schema.Array(EventSchema), gap: Schema.Boolean, lastSeq: Schema.Number }),
    sse: { data: EventSchema, events: "one per event, named by its type, with id: its sequence number; stream.gap when events asked for are no longer kept; stream.dropped before a too slow consumer is cut off" },
    websocket: true,
    status: 200,
    role: "read",
  });
  // GET /v1/events: WebSocket when upgrading, SSE when the client accepts text/event-stream, else a JSON page.
  app.get(
    "/",
    async (c, next) => {
      const q = decodeOrThrow(EventQuery, c.req.query(), "query");
      c.set("eventQuery" as never, q as never);
      c.set("eventFilter" as never, compileFilter(q) as never);
      if (c.req.header("upgrade")?.toLowerCase() === "websocket") return next();
      const lastEventId = c.req.header("last-event-id");
      const after = q.since ?? (lastEventId !== undefined && /^\d{1,16}$/.test(lastEventId) ? Number(lastEventId) : -1);
      const limit = q.limit;
      const filter = c.get("eventFilter" as never) as EventFilter;
      if (!(c.req.header("accept") ?? "").includes("text/event-stream")) {
        const n = limit ?? 100;
        if (after < 0) return c.json({ events: deps.bus.recent(n, filter), gap: false, lastSeq: deps.bus.lastSeq });
        // A page after `since` holds the oldest events past it, so a client paging on with the last seq it saw misses none.
        const { events, gap } = deps.bus.since(after);
        const page: AgentEvent[] = [];
        for (const e of events) if (filter(e) && page.push(e) >= n) break;
        return c.json({ events: page, gap, lastSeq: deps.bus.lastSeq });
      }
      return streamSSE(c, async (stream) => {
        let pending = 0;
        let closed = false;
        let sent = 0;
        const queue: AgentEvent[] = [];
        let wake: (() => void) | undefined;
        let idle: ReturnType<typeof setTimeout> | undefined;
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
        const write = async (e: AgentEvent) => {
          await stream.writeSSE({ id: String(e.seq), event: e.type, data: JSON.stringify(e) });
          // `limit` ends the stream once that many events went out.
          if (limit !== undefined && ++sent >= limit) closed = true;
        };
        try {
          if (after >= 0) {
            const { events, gap } = deps.bus.since(after);
            if (gap) await stream.writeSSE({ event: "stream.gap", data: JSON.stringify(gapNotice(after, events[0]?.seq)) });
            for (const e of events) if (!closed && filter(e)) await write(e);
          }
          while (!closed) {
            while (queue.length > 0 && !closed) {
              const e = queue.shift()!;
              pending--;
              if (after >= 0 && e.seq <= after) continue;
              await write(e);
            }
            if (closed) break;
            await new Promise<void>((r) => {
              wake = r;
              // A comment keeps the server (Bun.serve's 10 s idle timeout) and proxies from closing an idle stream.
              idle = setTimeout(r, SSE_KEEPALIVE_MS);
            });
            clearTimeout(idle);
            wake = undefined;
            if (queue.length === 0 && !closed) await stream.write(": keep-alive\n\n");
          }
          if (pending > 10_000) await stream.writeSSE({ event: "stream.dropped", data: JSON.stringify({ message: "consumer too slow; reconnect with Last-Event-ID to resume" }) });
        } finally {
          clearTimeout(idle);
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
          let open = true;
          let sent = 0;
          const end = (code: number, reason: string) => {
            open = false;
            unsubscribe?.();
            ws.close(code, reason);
          };
          const send = (payload: unknown) => {
            if (!open) return;
            if ((raw?.getBufferedAmount?.() ?? 0) > maxBuffered) {
              deps.onDrop?.("websocket consumer too slow");
              ws.send(JSON.stringify({ type: "stream.dropped", message: "consumer too slow; reconnect with ?since=<last seq> to resume" }));
              end(4008, "consumer too slow");
              return;
            }
            ws.send(JSON.stringify(payload));
          };
          // Events count toward `limit`; a gap notice does not. The socket closes normally once the limit is reached.
          const sendEvent = (e: AgentEvent) => {
            if (!open || !filter(e)) return;
            send(e);
            if (open && q.limit !== undefined && ++sent >= q.limit) end(1000, "limit reached");
          };
          if (q.since !== undefined) {
            const { events, gap } = deps.bus.since(q.since);
            if (gap) send(gapNotice(q.since, events[0]?.seq));
            for (const e of events) sendEvent(e);
          }
          if (open) unsubscribe = deps.bus.subscribe(sendEvent);
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
