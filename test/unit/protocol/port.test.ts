import { describe, expect, test } from "bun:test";
import { createParentPort, type MessageEndpoint, RequestError } from "../../../src/protocol/port.ts";
import { waitFor } from "../../support/wait-for.ts";

function startFixture() {
  const worker = new Worker(new URL("../../fixtures/port-worker-fixture.ts", import.meta.url).href);
  const port = createParentPort<{ t: string; i?: number }, { t: string; [k: string]: unknown }>(worker as unknown as MessageEndpoint);
  return { worker, port, [Symbol.dispose]: () => worker.terminate() };
}

describe("typed port", () => {
  test("replies are matched to their requests by id, even out of order", async () => {
    using f = startFixture();
    await f.port.ready;
    const values = await Promise.all([1, 2, 3, 4, 5].map((n) => f.port.request({ t: "echo", value: { n } })));
    expect(values).toEqual([1, 2, 3, 4, 5].map((n) => ({ n })));
  });

  test("an error reply rejects with its code and message", async () => {
    using f = startFixture();
    await f.port.ready;
    const err = (await f.port.request({ t: "fail" }).catch((e: unknown) => e)) as RequestError;
    expect(err).toBeInstanceOf(RequestError);
    expect(err.code).toBe("failed_on_purpose");
  });

  test("a request with no reply times out instead of hanging", async () => {
    using f = startFixture();
    await f.port.ready;
    const err = (await f.port.request({ t: "slow" }, 50).catch((e: unknown) => e)) as RequestError;
    expect(err.code).toBe("timeout");
  });

  test("queued messages arrive batched, in order, each delivered on its own", async () => {
    using f = startFixture();
    const got: number[] = [];
    f.port.onMessage((m) => {
      if (m.t === "item") got.push(m.i!);
    });
    await f.port.ready;
    f.port.send({ t: "burst", n: 1200 });
    await waitFor(() => got.length === 1200, { what: "1200 items" });
    expect(got).toEqual(Array.from({ length: 1200 }, (_, i) => i));
  });

  test("pending requests fail when the port closes", async () => {
    using f = startFixture();
    await f.port.ready;
    const p = f.port.request({ t: "slow" }, 5000);
    f.port.close();
    const err = (await p.catch((e: unknown) => e)) as RequestError;
    expect(err.code).toBe("closed");
  });
});
