// Self-signed certificates for TLS tests, generated with openssl into a temporary directory.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCert {
  certFile: string;
  keyFile: string;
  dir: string;
  remove(): void;
}

export function makeCert(cn: string): TestCert {
  const dir = mkdtempSync(join(tmpdir(), "polis-tls-"));
  const certFile = join(dir, "cert.pem"), keyFile = join(dir, "key.pem");
  const r = Bun.spawnSync([
    "/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", keyFile, "-out", certFile, "-days", "2", "-subj", `/CN=${cn}`,
    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
  ], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`openssl failed: ${r.stderr.toString()}`);
  return { certFile, keyFile, dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
