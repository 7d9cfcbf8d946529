import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHttpProbe, parseStatusRanges } from "../../../../src/health/probes/http.ts";

let server: ReturnType<typeof Bun.serve>;
let base: string;
let served = 0;

beforeAll(() => {
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const url = new URL(req.url);
      const code = /^\/code\/(\d+)$/.exec(url.pathname);
      if (code) return new Response(`code ${code[1]}`, { status: Number(code[1]) });
      if (url.pathname === "/body") return new Response("status: all good here");
      if (url.pathname === "/echo-method") return new Response(req.method + " " + (req.headers.get("x-probe") ?? ""));
      if (url.pathname === "/huge") {
        // An endless body: the probe must stop reading on its own.
        const chunk = new Uint8Array(64 * 1024).fill(120);
        return new Response(
          new ReadableStream({
            pull(c) {
              served += chunk.byteLength;
              c.enqueue(chunk);
            },
          }),
        );
      }
      if (url.pathname === "/never") return new Promise<Response>(() => {});
      return new Response("ok");
    },
  });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server.stop(true));

const run = (probe: ReturnType<typeof createHttpProbe>, target: string, ms = 5000) => probe(target, AbortSignal.timeout(ms));

describe("http probe", () => {
  const table: [number, string][] = [
    [200, "passing"],
    [204, "passing"],
    [299, "passing"],
    [301, "critical"],
    [404, "critical"],
    [429, "warning"],
    [500, "critical"],
    [503, "critical"],
  ];
  for (const [code, want] of table) {
    test(`code ${code} -> ${want} by default`, async () => {
      const r = await run(createHttpProbe({ followRedirects: false }), `${base}/code/${code}`);
      expect(r.status).toBe(want as "passing");
      expect(r.output).toContain(`-> ${code}`);
    });
  }

  test("an expected status list with ranges decides what passes", async () => {
    const p = createHttpProbe({ expectedStatus: [404, "500-502"] });
    expect((await run(p, `${base}/code/404`)).status).toBe("passing");
    expect((await run(p, `${base}/code/501`)).status).toBe("passing");
    expect((await run(p, `${base}/code/200`)).status).toBe("critical");
    expect((await run(p, `${base}/code/429`)).status).toBe("warning");
  });

  test("malformed status ranges are rejected with the field name", () => {
    expect(() => parseStatusRanges(["abc"])).toThrow("expectedStatus[0]");
    expect(() => parseStatusRanges(["300-200"])).toThrow("expectedStatus[0]");
  });

  test("host:port targets take the path, method and headers from options", async () => {
    const p = createHttpProbe({ path: "/echo-method", method: "post", headers: { "x-probe": "yes" }, bodyContains: "POST yes" });
    const r = await run(p, `127.0.0.1:${server.port}`);
    expect(r.status).toBe("passing");
  });

  test("a body that matches passes; one that does NOT match is critical", async () => {
    expect((await run(createHttpProbe({ bodyContains: "all good" }), `${base}/body`)).status).toBe("passing");
    expect((await run(createHttpProbe({ bodyRegex: "^status: \\w+" }), `${base}/body`)).status).toBe("passing");
    const miss = await run(createHttpProbe({ bodyContains: "broken" }), `${base}/body`);
    expect(miss.status).toBe("critical");
    expect(miss.output).toContain("did not match");
  });

  test("a server replying an endless body is read only up to the cap, with a note", async () => {
    const before = served;
    const r = await run(createHttpProbe({ bodyContains: "never there", bodyCapBytes: 64 * 1024 }), `${base}/huge`);
    expect(r.status).toBe("critical");
    expect(r.output).toMatch(/captured 4096 of more than \d+ bytes/);
    // The server may buffer a few chunks ahead, but nowhere near gigabytes.
    expect(served - before).toBeLessThan(64 * 1024 * 1024);
  });

  test("a server that never answers ends at the signal as critical", async () => {
    const r = await run(createHttpProbe(), `${base}/never`, 200);
    expect(r.status).toBe("critical");
    expect(r.output).toContain("timed out");
  });

  test("an unreachable target is critical, not an exception", async () => {
    const closed = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
    const port = closed.port;
    closed.stop(true);
    const r = await run(createHttpProbe(), `http://127.0.0.1:${port}/`);
    expect(r.status).toBe("critical");
  });

  test("malformed targets are critical with the reason", async () => {
    for (const t of ["http://", "ftp://127.0.0.1/x", "::::"]) {
      const r = await run(createHttpProbe(), t);
      expect(r.status).toBe("critical");
    }
  });

  test("an invalid body regex is rejected when the probe is built", () => {
    expect(() => createHttpProbe({ bodyRegex: "(" })).toThrow("bodyRegex");
  });
});

describe("https probe", () => {
  let dir: string;
  let tls: ReturnType<typeof Bun.serve>;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "health-tls-"));
    const gen = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "1", "-subj", "/CN=127.0.0.1"], { stderr: "ignore", stdout: "ignore" });
    if (gen.exitCode !== 0) throw new Error("openssl failed");
    tls = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      tls: { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") },
      fetch: () => new Response("secure"),
    });
  });
  afterAll(() => {
    tls.stop(true);
    rmSync(dir, { recursive: true, force: true });
  });

  test("a self-signed certificate fails verification by default", async () => {
    const r = await run(createHttpProbe({ scheme: "https" }), `127.0.0.1:${tls.port}`);
    expect(r.status).toBe("critical");
  });

  test("with tlsVerify off the same server passes", async () => {
    const r = await run(createHttpProbe({ scheme: "https", tlsVerify: false }), `127.0.0.1:${tls.port}`);
    expect(r.status).toBe("passing");
  });
});
