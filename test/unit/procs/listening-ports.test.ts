// Listening ports from /proc/net: a bound listener is seen and skipped by the picker.
import { describe, expect, test } from "bun:test";
import { listeningPorts, pickFreePort } from "../../../src/procs/listening-ports.ts";

describe("listening ports", () => {
  test("a listener on port 0 shows up, and the picker skips it and ports taken by our replicas", () => {
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const p = server.port;
      expect(listeningPorts().has(p)).toBe(true);
      expect(pickFreePort(p, p + 2, new Set([p + 1]), new Set([p]))).toBe(p + 2);
      expect(pickFreePort(p, p, new Set(), new Set([p]))).toBeNull();
    } finally {
      server.stop(true);
    }
  });
});
