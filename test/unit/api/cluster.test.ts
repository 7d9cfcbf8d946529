// GET /v1/cluster/members in-process: every field a node record may carry reaches the answer (the response is checked
// against its schema, so a record field the schema lacks turns the whole list into a 500).
import { describe, expect, test } from "bun:test";
import { createApi } from "../../../src/api/app.ts";
import { createTokenAuthenticator } from "../../../src/api/auth.ts";
import { clusterRoutes } from "../../../src/api/cluster.ts";
import type { Member } from "../../../src/protocol/cluster.ts";

const TOKEN = "read-token-0123456789";

const member = (over: Partial<Member> = {}): Member => ({
  name: "node-a",
  zone: "z1",
  advertise: "127.0.0.11",
  version: "0.1.0",
  startedAt: 1_000,
  capacity: { cores: 2, memoryBytes: 4e9, load1: 0.5, freePorts: 90 },
  status: "alive",
  lastSeen: 2_000,
  self: true,
  ...over,
});

function api(members: () => Promise<Member[]>) {
  const app = createApi({
    auth: createTokenAuthenticator(() => [{ name: "r", token: TOKEN, role: "read" }]),
    bodyLimitBytes: 1024 * 1024,
    ready: () => true,
    modules: [{ path: "/cluster", app: clusterRoutes({ members }) }],
  });
  return app.request("/v1/cluster/members", { headers: { authorization: `Bearer ${TOKEN}` } });
}

describe("GET /v1/cluster/members", () => {
  test("a node with labels and cluster apps is listed with both", async () => {
    const res = await api(async () => [member({ labels: { disk: "ssd", rack: "r1" }, apps: ["api", "jobs"] }), member({ name: "node-b", self: false, status: "failed" })]);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { members: Member[] };
    expect(body.members.map((m) => [m.name, m.status, m.labels, m.apps])).toEqual([
      ["node-a", "alive", { disk: "ssd", rack: "r1" }, ["api", "jobs"]],
      ["node-b", "failed", undefined, undefined],
    ]);
  });

  test("a cluster worker that cannot answer is a 503 naming it, not a 500 (contrast)", async () => {
    const res = await api(async () => {
      throw new Error("cluster worker is restarting");
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { message: string }).message).toContain("cluster worker is restarting");
  });
});
