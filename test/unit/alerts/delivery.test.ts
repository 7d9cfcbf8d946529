import { afterEach, describe, expect, test } from "bun:test";
import { createDelivery, sign } from "../../../src/alerts/delivery.ts";
import type { ReceiverConfig } from "../../../src/config/alerts-schema.ts";
import { openAlertStore } from "../../../src/state/alert-store.ts";
import { openStore } from "../../../src/state/store.ts";
import { waitFor } from "../../support/wait-for.ts";

const receiverAt = (url: string, over: Partial<ReceiverConfig> = {}): ReceiverConfig => ({
  name: "ops", url, matchers: [], severities: [], send_resolved: true, timeout: 2000, max_attempts: 3, backoff: 10, max_backoff: 100, headers: {}, max_alerts: 0, ...over,
});

describe("webhook delivery", () => {
  const servers: Array<{ stop(force?: boolean): void }> = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.stop(true);
  });

  const setup = (statuses: number[], over: Partial<ReceiverConfig> = {}, queueSize = 10) => {
    const bodies: Array<{ body: string; sig: string | null }> = [];
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        bodies.push({ body: await req.text(), sig: req.headers.get("x-polis-signature") });
        return new Response("x", { status: statuses.shift() ?? 200 });
      },
    });
    servers.push(server);
    const store = openAlertStore(openStore(":memory:"));
    const events: string[] = [];
    const counts: string[] = [];
    const r = receiverAt(`http://127.0.0.1:${server.port}/`, over);
    const d = createDelivery({ store, receiver: (n) => (n === "ops" ? r : undefined), queueSize: () => queueSize, replyLimit: () => 4096, publish: (e) => events.push(e.type), counted: (_r, o) => counts.push(o) });
    return { d, store, bodies, events, counts, url: r.url };
  };

  test("a failing receiver is retried with backoff until it answers 2xx; every attempt is recorded", async () => {
    const { d, store, bodies, counts } = setup([503, 500]);
    d.start();
    expect(d.enqueue({ receiver: "ops", groupKey: "g", status: "firing", alertIds: ["1"], payload: '{"a":1}' })).toBeGreaterThan(0);
    const rec = await waitFor(() => store.notifications(10).find((n) => n.state === "delivered"), { what: "delivered" });
    expect(rec.attempts.map((a) => a.status)).toEqual([503, 500, 200]);
    expect(bodies).toHaveLength(3);
    expect(counts).toEqual(["sent"]);
    d.stop();
  });

  test("after max_attempts the notification is given up as failed, with an event", async () => {
    const { d, store, events, counts } = setup([500, 500, 500, 500]);
    d.start();
    d.enqueue({ receiver: "ops", groupKey: "g", status: "firing", alertIds: ["1"], payload: "{}" });
    const rec = await waitFor(() => store.notifications(10).find((n) => n.state === "failed"), { what: "failed" });
    expect(rec.attempts).toHaveLength(3);
    expect(events).toEqual(["alert.notification-failed"]);
    expect(counts).toEqual(["failed"]);
    d.stop();
  });

  test("the body is signed with HMAC-SHA256 when a secret is set", async () => {
    const { d, bodies } = setup([], { hmac_secret: "0123456789abcdef" });
    d.start();
    d.enqueue({ receiver: "ops", groupKey: "g", status: "firing", alertIds: ["1"], payload: '{"x":true}' });
    await waitFor(() => bodies.length > 0);
    expect(bodies[0]!.sig).toBe(sign("0123456789abcdef", '{"x":true}'));
    d.stop();
  });

  test("a full queue drops new notifications and counts them; a receiver that never answers times out", async () => {
    const hang = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Promise<Response>(() => {}) });
    servers.push(hang);
    const store = openAlertStore(openStore(":memory:"));
    const r = receiverAt(`http://127.0.0.1:${hang.port}/`, { timeout: 100, max_attempts: 1 });
    const d = createDelivery({ store, receiver: () => r, queueSize: () => 2, replyLimit: () => 4096, publish: () => {}, counted: () => {} });
    d.start();
    const results = [1, 2, 3].map(() => d.enqueue({ receiver: "ops", groupKey: "g", status: "firing", alertIds: [], payload: "{}" }));
    expect(results.map((x) => x !== false)).toEqual([true, true, false]);
    expect(d.dropped).toBe(1);
    const failed = await waitFor(() => store.notifications(10).find((n) => n.state === "failed"), { what: "timed out" });
    expect(failed.attempts[0]!.error).toContain("no answer within 100 ms");
    d.stop();
  });

  test("pending notifications survive a restart and are delivered by the next delivery", async () => {
    const { bodies, url } = setup([]);
    // Not started: the notification is only persisted, as when the agent dies before sending it.
    const db = openStore(":memory:");
    const s1 = openAlertStore(db);
    const d1 = createDelivery({ store: s1, receiver: () => undefined, queueSize: () => 10, replyLimit: () => 1, publish: () => {}, counted: () => {} });
    d1.enqueue({ receiver: "ops", groupKey: "g", status: "firing", alertIds: [], payload: "{}" });
    expect(s1.pending()).toHaveLength(1);
    const r = receiverAt(url);
    const d2 = createDelivery({ store: openAlertStore(db), receiver: () => r, queueSize: () => 10, replyLimit: () => 4096, publish: () => {}, counted: () => {} });
    d2.start();
    await waitFor(() => s1.notifications(10).find((n) => n.state === "delivered"), { what: "resumed delivery" });
    expect(bodies).toHaveLength(1);
    d2.stop();
  });
});
