// The JSON page of GET /v1/events: filters pick from the whole ring before the limit, and a page after `since`
// holds the oldest events past it, so paging on with the last seq seen misses none.
import { describe, expect, test } from "bun:test";
import { createApi } from "../../../src/api/app.ts";
import { createTicketStore, createTokenAuthenticator } from "../../../src/api/auth.ts";
import { eventRoutes } from "../../../src/api/events.ts";
import { createEventBus } from "../../../src/state/event-bus.ts";

const READ = "read-token-0123456789";

function api() {
  const bus = createEventBus();
  const tickets = createTicketStore();
  const app = createApi({
    auth: createTokenAuthenticator(() => [{ name: "r", token: READ, role: "read" }]),
    tickets,
    bodyLimitBytes: 1024,
    ready: () => true,
    modules: [{ path: "/events", app: eventRoutes({ bus, tickets }) }],
  });
  // a-0 starts early, then b-0 is noisy: 200 events after a-0's last one.
  for (let i = 0; i < 3; i++) bus.publish({ type: "proc.ready", source: "procs", target: "a-0", severity: "info", message: `a ${i}` });
  for (let i = 0; i < 200; i++) bus.publish({ type: "proc.exited", source: "procs", target: "b-0", severity: "warning", message: `b ${i}` });
  return { app, bus };
}
async function page(app: ReturnType<typeof api>["app"], query: string) {
  const res = await app.request(`/v1/events?${query}`, { headers: { authorization: `Bearer ${READ}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { events: Array<{ seq: number; target: string }> }).events;
}

describe("GET /v1/events as a JSON page", () => {
  test("a target filter finds its events even when newer ones of others fill the limit", async () => {
    const { app } = api();
    expect((await page(app, "target=a-0&limit=5")).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect((await page(app, "target=a-0&limit=2")).map((e) => e.seq)).toEqual([2, 3]);
  });

  test("without a filter the limit keeps the newest events, oldest first", async () => {
    const { app } = api();
    expect((await page(app, "limit=3")).map((e) => e.seq)).toEqual([201, 202, 203]);
  });

  test("pages after since follow each other without a hole", async () => {
    const { app } = api();
    const seen: number[] = [];
    let since = 0;
    for (;;) {
      const events = await page(app, `since=${since}&limit=50`);
      if (events.length === 0) break;
      expect(events.length).toBeLessThanOrEqual(50);
      seen.push(...events.map((e) => e.seq));
      since = events.at(-1)!.seq;
    }
    expect(seen).toEqual(Array.from({ length: 203 }, (_, i) => i + 1));
  });

  test("since with a filter pages through that target alone", async () => {
    const { app } = api();
    expect((await page(app, "since=1&target=a-0&limit=1")).map((e) => e.seq)).toEqual([2]);
  });
});
