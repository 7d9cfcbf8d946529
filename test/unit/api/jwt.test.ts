import { describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT, UnsecuredJWT } from "jose";
import { createApi } from "../../../src/api/app.ts";
import { chainAuthenticators, createTokenAuthenticator } from "../../../src/api/auth.ts";
import { createJwtAuthenticator, jwtAuthenticatorFromConfig } from "../../../src/api/jwt.ts";
import { Hono } from "hono";

const SECRET = "0123456789abcdef0123456789abcdef-test";
const NOW = 1_700_000_000;
const clock = () => NOW;

function hs256(claims: Record<string, unknown>, opts: { secret?: string; exp?: number | null; iss?: string; aud?: string } = {}) {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setIssuedAt(NOW - 10);
  if (opts.exp !== null) jwt = jwt.setExpirationTime(opts.exp ?? NOW + 600);
  if (opts.iss) jwt = jwt.setIssuer(opts.iss);
  if (opts.aud) jwt = jwt.setAudience(opts.aud);
  return jwt.sign(new TextEncoder().encode(opts.secret ?? SECRET));
}

describe("JWT authenticator (HS256)", () => {
  const auth = createJwtAuthenticator({ secret: SECRET, issuer: "polis-test", audience: "polis-api", now: clock });
  const good = { iss: "polis-test", aud: "polis-api" };

  test("a valid token yields the role from its role claim and the subject as name", async () => {
    const t = await hs256({ role: "operator", sub: "alice" }, good);
    expect(await auth.verify(t)).toEqual({ name: "jwt:alice", role: "operator" });
  });

  test("a token without a role claim gets the read role", async () => {
    expect((await auth.verify(await hs256({}, good)))?.role).toBe("read");
  });

  test("a role claim that is not a known role rejects the token rather than guessing", async () => {
    expect(await auth.verify(await hs256({ role: "root" }, good))).toBeUndefined();
    expect(await auth.verify(await hs256({ role: ["admin"] }, good))).toBeUndefined();
  });

  const rejected: Array<[string, () => Promise<string>]> = [
    ["expired", () => hs256({ role: "admin" }, { ...good, exp: NOW - 3600 })],
    ["without exp", () => hs256({ role: "admin" }, { ...good, exp: null })],
    ["with the wrong issuer", () => hs256({ role: "admin" }, { ...good, iss: "someone-else" })],
    ["with the wrong audience", () => hs256({ role: "admin" }, { ...good, aud: "other-api" })],
    ["signed with another secret", () => hs256({ role: "admin" }, { ...good, secret: "another-secret-another-secret-123" })],
    ["unsigned (alg none)", async () => new UnsecuredJWT({ role: "admin", ...good }).setExpirationTime(NOW + 600).encode()],
  ];
  for (const [what, make] of rejected) {
    test(`a token ${what} is rejected`, async () => {
      expect(await auth.verify(await make())).toBeUndefined();
    });
  }

  test("a tampered payload is rejected", async () => {
    const t = await hs256({ role: "read" }, good);
    const [h, , s] = t.split(".");
    const forged = Buffer.from(JSON.stringify({ role: "admin", exp: NOW + 600, ...good })).toString("base64url");
    expect(await auth.verify(`${h}.${forged}.${s}`)).toBeUndefined();
  });

  test("strings that are not JWTs are simply not recognised", async () => {
    for (const junk of ["", "abc", "a.b", "a.b.c.d", "not a token at all", "x".repeat(10_000)]) expect(await auth.verify(junk)).toBeUndefined();
  });

  test("a config with neither or both of secret and public key is refused", () => {
    expect(() => createJwtAuthenticator({})).toThrow(/exactly one/);
    expect(() => createJwtAuthenticator({ secret: SECRET, publicKeyPem: "x" })).toThrow(/exactly one/);
  });
});

describe("JWT authenticator (public key file)", () => {
  for (const alg of ["RS256", "ES256"] as const) {
    test(`${alg}: a token signed with the private key verifies with the public key file; an HS256 token made from the public key does not`, async () => {
      const { publicKey, privateKey } = alg === "RS256" ? generateKeyPairSync("rsa", { modulusLength: 2048 }) : generateKeyPairSync("ec", { namedCurve: "P-256" });
      const dir = mkdtempSync(join(tmpdir(), "polis-jwt-"));
      try {
        const pem = publicKey.export({ type: "spki", format: "pem" }).toString();
        const file = join(dir, "pub.pem");
        writeFileSync(file, pem);
        const auth = jwtAuthenticatorFromConfig({ public_key_file: file });
        const t = await new SignJWT({ role: "admin", sub: "ci" }).setProtectedHeader({ alg }).setExpirationTime("5m").sign(privateKey);
        expect(await auth.verify(t)).toEqual({ name: "jwt:ci", role: "admin" });
        // Algorithm confusion: HMAC keyed with the public key's PEM text must not pass.
        const confused = await new SignJWT({ role: "admin" }).setProtectedHeader({ alg: "HS256" }).setExpirationTime("5m").sign(new TextEncoder().encode(pem));
        expect(await auth.verify(confused)).toBeUndefined();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe("JWT chained after static tokens in the API", () => {
  const staticToken = "static-token-static-token-1234";
  const api = createApi({
    auth: chainAuthenticators([createTokenAuthenticator(() => [{ name: "ops", token: staticToken, role: "read" }]), createJwtAuthenticator({ secret: SECRET })]),
    bodyLimitBytes: 1024,
    ready: () => true,
    modules: [{ path: "/things", app: new Hono().get("/", (c) => c.json({ ok: true })).post("/", (c) => c.json({ ok: true })) }],
  });
  const call = (method: string, token: string) => api.request("/v1/things", { method, headers: { authorization: `Bearer ${token}` } });

  test("a static token still works, a JWT works, and the JWT's role gates mutating routes", async () => {
    expect((await call("GET", staticToken)).status).toBe(200);
    const reader = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setExpirationTime("5m").sign(new TextEncoder().encode(SECRET));
    const operator = await new SignJWT({ role: "operator" }).setProtectedHeader({ alg: "HS256" }).setExpirationTime("5m").sign(new TextEncoder().encode(SECRET));
    expect((await call("GET", reader)).status).toBe(200);
    const denied = await call("POST", reader);
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { code: string }).code).toBe("forbidden");
    expect((await call("POST", operator)).status).toBe(200);
  });

  test("an expired JWT is 401 with the error envelope", async () => {
    const expired = await new SignJWT({ role: "admin" }).setProtectedHeader({ alg: "HS256" }).setExpirationTime(Math.floor(Date.now() / 1000) - 3600).sign(new TextEncoder().encode(SECRET));
    const res = await call("GET", expired);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: "unauthorized" });
  });
});
