// DNS over TCP under a client that hoards connections: a per-client cap and a short timeout for silent connections
// keep the server answering everyone else (real sockets, clients on distinct loopback addresses).
import { afterEach, describe, expect, test } from "bun:test";
import net from "node:net";
import { listenDnsTcp } from "../../../src/discovery/dns-tcp.ts";
import type { DnsResponder } from "../../../src/discovery/dns-responder.ts";
import { waitFor } from "../../support/wait-for.ts";

// Echoes the query back: enough to see that a connection is served.
const echo: DnsResponder = { respond: (q) => Uint8Array.from(q), cacheSize: 0, setTtl() {} };
const frame = (body: string) => {
  const b = Buffer.from(body);
  const out = Buffer.alloc(b.length + 2);
  out.writeUInt16BE(b.length, 0);
  b.copy(out, 2);
  return out;
};

interface Client {
  sock: net.Socket;
  closed: boolean;
  got: string;
}
const clients: Client[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.sock.destroy();
});

function connect(port: number, from: string): Promise<Client> {
  const sock = net.connect({ host: "127.0.0.1", port, localAddress: from });
  const c: Client = { sock, closed: false, got: "" };
  clients.push(c);
  sock.on("data", (d: Buffer) => (c.got += d.subarray(2).toString()));
  sock.on("close", () => (c.closed = true));
  sock.on("error", () => {});
  return new Promise((resolve, reject) => {
    sock.once("connect", () => resolve(c));
    sock.once("error", reject);
  });
}

describe("DNS over TCP connection limits", () => {
  test("a client keeps at most its cap of connections (its oldest idle ones are closed), and another client is still answered", async () => {
    const l = listenDnsTcp({ hostname: "127.0.0.1", port: 0, idleTimeoutSeconds: 30, maxConnections: 20, maxConnectionsPerClient: 4, firstQueryTimeoutSeconds: 30 }, echo);
    try {
      const hoard = await Promise.all(Array.from({ length: 10 }, () => connect(l.port, "127.0.0.2")));
      await waitFor(() => hoard.filter((c) => c.closed).length === 6, { what: "the connections over the per-client cap to close" });
      const other = await connect(l.port, "127.0.0.3");
      other.sock.write(frame("hello"));
      await waitFor(() => other.got === "hello", { what: "an answer for another client" });
      expect(hoard.filter((c) => !c.closed).length).toBe(4);
    } finally {
      l.close();
    }
  });

  test("a client at its cap is served on a new connection: its oldest idle one is closed instead", async () => {
    const l = listenDnsTcp({ hostname: "127.0.0.1", port: 0, idleTimeoutSeconds: 30, maxConnections: 20, maxConnectionsPerClient: 3, firstQueryTimeoutSeconds: 30 }, echo);
    try {
      const idle: Client[] = [];
      for (let i = 0; i < 3; i++) idle.push(await connect(l.port, "127.0.0.7"));
      const fresh = await connect(l.port, "127.0.0.7");
      fresh.sock.write(frame("late"));
      await waitFor(() => fresh.got === "late", { what: "an answer on the client's new connection" });
      await waitFor(() => idle[0]!.closed, { what: "the client's oldest idle connection to close" });
      expect(fresh.closed).toBe(false);
      expect(idle.slice(1).some((c) => c.closed)).toBe(false);
    } finally {
      l.close();
    }
  });

  test("contrast: without a per-client cap below the global one, the hoarding client would take every slot", async () => {
    const l = listenDnsTcp({ hostname: "127.0.0.1", port: 0, idleTimeoutSeconds: 30, maxConnections: 6, maxConnectionsPerClient: 100, firstQueryTimeoutSeconds: 30 }, echo);
    try {
      await Promise.all(Array.from({ length: 6 }, () => connect(l.port, "127.0.0.2")));
      const other = await connect(l.port, "127.0.0.3");
      await waitFor(() => other.closed, { what: "the other client to be turned away" });
    } finally {
      l.close();
    }
  });

  test("a silent connection is closed after the short first-query timeout while one that asked stays open", async () => {
    const l = listenDnsTcp({ hostname: "127.0.0.1", port: 0, idleTimeoutSeconds: 60, maxConnections: 100, firstQueryTimeoutSeconds: 1 }, echo);
    try {
      const silent = await connect(l.port, "127.0.0.4");
      const asking = await connect(l.port, "127.0.0.5");
      asking.sock.write(frame("q"));
      await waitFor(() => asking.got === "q", { what: "the first answer" });
      await waitFor(() => silent.closed, { what: "the silent connection to be closed", timeoutMs: 10_000 });
      expect(asking.closed).toBe(false);
    } finally {
      l.close();
    }
  });

  test("a closed connection frees its client's slot", async () => {
    const l = listenDnsTcp({ hostname: "127.0.0.1", port: 0, idleTimeoutSeconds: 30, maxConnections: 20, maxConnectionsPerClient: 1, firstQueryTimeoutSeconds: 30 }, echo);
    try {
      const first = await connect(l.port, "127.0.0.6");
      first.sock.destroy();
      await waitFor(() => first.closed, { what: "the first connection to close" });
      // The server notices the close asynchronously: retry until a new connection is served.
      await waitFor(async () => {
        const next = await connect(l.port, "127.0.0.6");
        next.sock.write(frame("again"));
        await waitFor(() => next.got === "again" || next.closed, { what: "an answer or a close" });
        return next.got === "again";
      }, { what: "a new connection from the same client to be served" });
    } finally {
      l.close();
    }
  });
});
