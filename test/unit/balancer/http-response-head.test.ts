// The response head the client gets: forwarded verbatim when it is already true, rebuilt when the proxy changes it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHttpProxy, type HttpProxy } from "../../../src/balancer/http-proxy.ts";
import { rawClient, rawUpstream, roundRobinPool, type RawUpstream } from "./support.ts";

const HEAD = "HTTP/1.1 200 OK\r\nServer: t\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok";
let upstream: RawUpstream;
let proxy: HttpProxy;
beforeAll(() => {
  upstream = rawUpstream((s) => s.write(HEAD));
  proxy = createHttpProxy({ hostname: "127.0.0.1", port: 0, pool: roundRobinPool([upstream.port]) });
});
afterAll(async () => {
  await proxy.close(50);
  upstream.stop();
});

async function response(request: string): Promise<string> {
  const c = await rawClient(proxy.port);
  try {
    c.send(request);
    return await c.until((t) => t.endsWith("ok"));
  } finally {
    c.close();
  }
}

describe("response heads", () => {
  test("an upstream's Connection: keep-alive reaches an HTTP/1.1 client on a kept connection byte for byte", async () => {
    expect(await response("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).toBe(HEAD);
  });

  test("a client that asked to close gets Connection: close instead of the upstream's keep-alive (contrast)", async () => {
    const text = await response("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    expect(text).toContain("Connection: close\r\n");
    expect(text).not.toContain("keep-alive");
  });

  test("an HTTP/1.0 client gets one Connection: keep-alive line, from the proxy", async () => {
    const text = await response("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    expect(text.split("Connection:").length - 1).toBe(1);
    expect(text).toContain("Connection: keep-alive\r\n");
  });
});
