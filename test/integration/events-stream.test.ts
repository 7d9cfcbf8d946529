// The live event stream on the running agent: WebSocket with the token as a subprotocol, type filters, resume with
// ?since=N, single-use tickets, and Server-Sent Events read by curl with id: lines and Last-Event-ID resume.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { RunningAgent } from "../support/agent.ts";
import { waitFor } from "../support/wait-for.ts";
import { getJson, type Json, send, startDemoAgent } from "./api-support.ts";

interface Socket extends AsyncDisposable {
  readonly ws: WebSocket;
  readonly messages: Json[];
  readonly opened: Promise<void>;
}

function openSocket(url: string, protocols?: string[]): Socket {
  const ws = new WebSocket(url, protocols);
  const messages: Json[] = [];
  ws.onmessage = (m) => messages.push(JSON.parse(String(m.data)));
  const opened = new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`websocket ${url} failed to open`));
    ws.onclose = (e) => reject(new Error(`websocket ${url} closed before open (${e.code})`));
  });
  return {
    ws,
    messages,
    opened,
    async [Symbol.asyncDispose]() {
      if (ws.readyState === WebSocket.CLOSED) return;
      const closed = new Promise<void>((r) => ws.addEventListener("close", () => r()));
      ws.close();
      await Promise.race([closed, Bun.sleep(2000)]);
    },
  };
}

describe("event stream on a running agent", () => {
  let agent: RunningAgent;
  let wsUrl: string;
  beforeAll(async () => {
    agent = await startDemoAgent({ replicas: { min: 1, max: 3 } });
    wsUrl = `${agent.url.replace(/^http/, "ws")}/v1/events`;
  }, 60_000);
  afterAll(async () => {
    await agent?.[Symbol.asyncDispose]();
  }, 60_000);

  /** Makes a few proc.* events: one more replica, then back. */
  async function churnReplicas() {
    expect((await send(agent, "POST", "/v1/apps/demo/scale", { replicas: 2 })).status).toBe(202);
    await waitFor(async () => (await getJson(agent, "/v1/apps/demo")).ready === 2, { what: "2 ready replicas" });
    expect((await send(agent, "POST", "/v1/apps/demo/scale", { replicas: 1 })).status).toBe(202);
    await waitFor(async () => (await getJson(agent, "/v1/apps/demo")).replicas.length === 1, { what: "back to 1 replica" });
  }

  test("a WebSocket opened with the token as subprotocol bearer.<token> receives events live, filtered by type proc.*", async () => {
    await using all = openSocket(wsUrl, [`bearer.${agent.token}`]);
    await using procs = openSocket(`${wsUrl}?type=proc.*`, [`bearer.${agent.token}`]);
    await Promise.all([all.opened, procs.opened]);
    await send(agent, "PUT", "/v1/services/ev/one", { endpoints: [{ address: "127.0.0.1", port: 7500 }] });
    await churnReplicas();
    await waitFor(() => procs.messages.some((e) => e.type === "proc.ready"), { what: "proc.ready on the filtered socket" });
    await waitFor(() => all.messages.some((e) => e.type.startsWith("service.") || e.type.startsWith("endpoint.")), { what: "catalog event on the unfiltered socket" });
    expect(procs.messages.length).toBeGreaterThan(0);
    expect(procs.messages.every((e) => e.type.startsWith("proc."))).toBe(true);
    expect(all.messages.some((e) => !e.type.startsWith("proc."))).toBe(true);
    // Sequence numbers only grow.
    const seqs = all.messages.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  }, 60_000);

  test("a WebSocket without any credential is refused", async () => {
    const s = openSocket(wsUrl);
    await expect(s.opened).rejects.toThrow();
    const res = await fetch(`${agent.url}/v1/events`, { headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" } });
    expect(res.status).toBe(401);
  }, 60_000);

  test("?since=N replays the events after N, then continues live", async () => {
    const page = await getJson(agent, "/v1/events?limit=20");
    const events = page.events as Json[];
    expect(events.length).toBeGreaterThan(3);
    const after = events[events.length - 3]!.seq as number;
    const expected = (events as Json[]).filter((e) => e.seq > after).map((e) => e.seq);
    await using s = openSocket(`${wsUrl}?since=${after}`, [`bearer.${agent.token}`]);
    await s.opened;
    await waitFor(() => s.messages.length >= expected.length, { what: "replayed events" });
    expect(s.messages.slice(0, expected.length).map((e) => e.seq)).toEqual(expected);
    await send(agent, "PUT", "/v1/services/ev/two", { endpoints: [{ address: "127.0.0.1", port: 7501 }] });
    await waitFor(() => s.messages.some((e) => e.target === "ev/two" || String(e.target).startsWith("ev/two/")), { what: "live event after the replay" });
  }, 60_000);

  test("a ticket from POST /v1/events/ticket opens the stream once; a second use is 401", async () => {
    const t = await send(agent, "POST", "/v1/events/ticket");
    expect(t.status).toBe(201);
    const ticket = t.body.ticket as string;
    await using s = openSocket(`${wsUrl}?ticket=${encodeURIComponent(ticket)}&type=service.*,endpoint.*`);
    await s.opened;
    await send(agent, "PUT", "/v1/services/ev/three", { endpoints: [{ address: "127.0.0.1", port: 7502 }] });
    await waitFor(() => s.messages.some((e) => String(e.target).startsWith("ev/three")), { what: "event via ticket" });
    const again = await fetch(`${agent.url}/v1/events?ticket=${encodeURIComponent(ticket)}`);
    expect(again.status).toBe(401);
    expect(await again.json()).toMatchObject({ code: "unauthorized" });
    const reuse = openSocket(`${wsUrl}?ticket=${encodeURIComponent(ticket)}`);
    await expect(reuse.opened).rejects.toThrow();
  }, 60_000);

  /** Runs curl as an SSE client until `enough` holds for its output or it times out; returns what it printed. */
  async function curlSse(path: string, headers: string[], enough: (out: string) => boolean): Promise<string> {
    const p = Bun.spawn(["curl", "-sN", "--max-time", "15", "-H", "Accept: text/event-stream", "-H", `Authorization: Bearer ${agent.token}`, ...headers.flatMap((h) => ["-H", h]), `${agent.url}${path}`], { stdout: "pipe", stderr: "pipe" });
    let out = "";
    const decoder = new TextDecoder();
    try {
      for await (const chunk of p.stdout) {
        out += decoder.decode(chunk, { stream: true });
        if (enough(out)) break;
      }
    } finally {
      p.kill();
      await p.exited;
    }
    return out;
  }
  const sseIds = (out: string) => [...out.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));

  test("SSE with Accept: text/event-stream sends events with id: lines, and Last-Event-ID resumes after that id", async () => {
    const live = curlSse("/v1/events?type=service.*,endpoint.*", [], (o) => o.includes("ev/four"));
    // The stream subscribes as the request arrives; keep registering until curl has seen one.
    await waitFor(
      async () => {
        await send(agent, "PUT", "/v1/services/ev/four", { endpoints: [{ address: "127.0.0.1", port: 7503 + Math.floor(Math.random() * 100) }] });
        return Promise.race([live.then(() => true), Bun.sleep(200).then(() => false)]);
      },
      { what: "curl saw a live event" },
    );
    const out = await live;
    expect(out).toMatch(/^event: (service|endpoint)\.[a-z]+$/m);
    expect(sseIds(out).length).toBeGreaterThan(0);

    const page = (await getJson(agent, "/v1/events?limit=10")).events as Json[];
    const lastId = page[page.length - 4]!.seq as number;
    const want = page.filter((e) => e.seq > lastId).map((e) => e.seq);
    const resumed = await curlSse("/v1/events", [`Last-Event-ID: ${lastId}`], (o) => sseIds(o).length >= want.length);
    expect(sseIds(resumed).slice(0, want.length)).toEqual(want);
    expect(Math.min(...sseIds(resumed))).toBeGreaterThan(lastId);
  }, 60_000);
});
