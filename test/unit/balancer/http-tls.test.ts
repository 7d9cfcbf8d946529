import { afterEach, describe, expect, test } from "bun:test";
import { createHttpProxy } from "../../../src/balancer/http-proxy.ts";
import { countResponses, echoUpstream, rawClient, roundRobinPool } from "./support.ts";
import { makeCert } from "./tls-certs.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function peerCN(port: number): Promise<string> {
  let cn = "";
  const s = await Bun.connect({
    hostname: "127.0.0.1", port, tls: { rejectUnauthorized: false },
    socket: {
      handshake(sock) {
        cn = (sock as unknown as { getPeerCertificate(): { subject: { CN: string } } }).getPeerCertificate().subject.CN;
      },
      data() {},
    },
  });
  const deadline = Date.now() + 5000;
  while (cn === "" && Date.now() < deadline) await Bun.sleep(5);
  s.end();
  return cn;
}

describe("http proxy TLS", () => {
  test("terminates TLS on the listener and forwards with X-Forwarded-Proto https", async () => {
    const cert = makeCert("first");
    cleanups.push(() => cert.remove());
    const up = echoUpstream("a");
    cleanups.push(() => up.stop());
    const proxy = createHttpProxy({ hostname: "127.0.0.1", port: 0, pool: roundRobinPool([up.port]), tls: cert });
    cleanups.push(() => proxy.close(50));
    const c = await rawClient(proxy.port, { tls: true });
    cleanups.push(() => c.close());
    c.send("GET /s HTTP/1.1\r\nHost: h\r\n\r\n");
    const t = await c.until((x) => x.includes("}"));
    expect(t).toContain('"x-forwarded-proto":"https"');
  });

  test("reloading certificates serves the new one to new connections and keeps old connections open", async () => {
    const first = makeCert("first"), second = makeCert("second");
    cleanups.push(() => { first.remove(); second.remove(); });
    const up = echoUpstream("a");
    cleanups.push(() => up.stop());
    const proxy = createHttpProxy({ hostname: "127.0.0.1", port: 0, pool: roundRobinPool([up.port]), tls: first });
    cleanups.push(() => proxy.close(50));
    const old = await rawClient(proxy.port, { tls: true });
    cleanups.push(() => old.close());
    old.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    await old.until((x) => countResponses(x) === 1);
    expect(await peerCN(proxy.port)).toBe("first");
    proxy.reloadTls(second);
    expect(await peerCN(proxy.port)).toBe("second");
    old.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    await old.until((x) => countResponses(x) === 2);
    expect(old.closed).toBe(false);
  });

  test("connects to a TLS upstream verifying it against the given CA", async () => {
    const cert = makeCert("upstream");
    cleanups.push(() => cert.remove());
    const server = Bun.serve({
      hostname: "127.0.0.1", port: 0, tls: { cert: Bun.file(cert.certFile), key: Bun.file(cert.keyFile) },
      fetch: () => new Response("secure"),
    });
    cleanups.push(() => server.stop(true));
    const proxy = createHttpProxy({
      hostname: "127.0.0.1", port: 0, pool: roundRobinPool([server.port!]),
      upstreamTls: { caFile: cert.certFile, serverName: "localhost" },
    });
    cleanups.push(() => proxy.close(50));
    const c = await rawClient(proxy.port);
    cleanups.push(() => c.close());
    c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    await c.until((x) => x.startsWith("HTTP/1.1 200") && x.endsWith("secure"));
  });

  test("an upstream certificate that does not verify is NOT used (502)", async () => {
    const cert = makeCert("upstream");
    cleanups.push(() => cert.remove());
    const server = Bun.serve({
      hostname: "127.0.0.1", port: 0, tls: { cert: Bun.file(cert.certFile), key: Bun.file(cert.keyFile) },
      fetch: () => new Response("secure"),
    });
    cleanups.push(() => server.stop(true));
    const proxy = createHttpProxy({
      hostname: "127.0.0.1", port: 0, pool: roundRobinPool([server.port!]), upstreamTls: { serverName: "localhost" },
    });
    cleanups.push(() => proxy.close(50));
    const c = await rawClient(proxy.port);
    cleanups.push(() => c.close());
    c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    const t = await c.until((x) => x.includes("\r\n\r\n"));
    expect(t.startsWith("HTTP/1.1 502")).toBe(true);
  });
});
