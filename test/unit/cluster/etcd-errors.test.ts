import { describe, expect, test } from "bun:test";
import { describeFetchError } from "../../../src/cluster/etcd.ts";

const err = (code: string, message: string) => Object.assign(new Error(message), { code });

describe("describeFetchError names the endpoint and the config key to fix", () => {
  test.each([
    ["https://e:2379", err("EPROTO", "EPROTO: The TLS handshake failed."), false, "etcd requires a client certificate and none is configured (cluster.etcd.tls.cert_file and key_file)"],
    ["https://e:2379", err("EPROTO", "EPROTO: The TLS handshake failed."), true, "etcd did not accept this agent's client certificate (cluster.etcd.tls.cert_file"],
    ["https://e:2379", err("UNABLE_TO_VERIFY_LEAF_SIGNATURE", "unable to verify the first certificate"), true, "etcd's server certificate is not trusted (unable to verify the first certificate; cluster.etcd.tls.ca_file"],
    ["http://e:2379", err("ECONNREFUSED", "ECONNREFUSED: Unable to connect."), false, "ECONNREFUSED: Unable to connect."],
  ])("%s, %p, client cert %p", (base, e, cert, want) => {
    const got = describeFetchError(base, e, cert);
    expect(got.startsWith(`${base}: `)).toBe(true);
    expect(got).toContain(want);
  });

  test("EPROTO on plain http is not blamed on certificates", () => {
    expect(describeFetchError("http://e:2379", err("EPROTO", "bad"), false)).toBe("http://e:2379: bad");
  });
});
