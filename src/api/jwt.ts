// JWT bearer tokens: HS256 with a shared secret, or RS256/ES256 with a public key file; the role comes from a claim.
import { createPublicKey, createSecretKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { jwtVerify } from "jose";
import type { Authenticator, Principal, Role } from "./auth.ts";

export interface JwtOptions {
  /** HS256 shared secret (at least 32 characters; the config schema enforces it). */
  secret?: string;
  /** PEM text of an RSA (RS256) or P-256 EC (ES256) public key. */
  publicKeyPem?: string;
  issuer?: string;
  audience?: string;
  /** Seconds since the epoch; tests pass a fixed clock. */
  now?: () => number;
  /** Leeway for exp/nbf in seconds: hosts' clocks drift a little. */
  clockToleranceSec?: number;
}

const ROLES: ReadonlySet<string> = new Set<Role>(["read", "operator", "admin"]);
// Three base64url segments: anything else is not a JWT, so we skip the crypto for static tokens and junk.
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** The single algorithm a key may verify: pinning it rules out alg confusion (an HS256 token "signed" with a public key) and "none". */
function keyAndAlgorithm(opts: JwtOptions): { key: KeyObject; alg: "HS256" | "RS256" | "ES256" } {
  if ((opts.secret === undefined) === (opts.publicKeyPem === undefined)) {
    throw new Error("api.jwt needs exactly one of secret or public_key_file");
  }
  if (opts.secret !== undefined) return { key: createSecretKey(Buffer.from(opts.secret)), alg: "HS256" };
  const key = createPublicKey(opts.publicKeyPem!);
  if (key.asymmetricKeyType === "rsa") return { key, alg: "RS256" };
  if (key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1") return { key, alg: "ES256" };
  throw new Error(`api.jwt.public_key_file: unsupported key type ${key.asymmetricKeyType} (use an RSA or P-256 EC public key)`);
}

/**
 * Verifies JWTs: signature with the pinned algorithm, exp required, nbf/iss/aud checked when configured.
 * The `role` claim gives the role (read when absent); an unknown role rejects the token rather than guessing.
 */
export function createJwtAuthenticator(opts: JwtOptions): Authenticator {
  const { key, alg } = keyAndAlgorithm(opts);
  return {
    async verify(credential): Promise<Principal | undefined> {
      if (!JWT_SHAPE.test(credential)) return undefined;
      try {
        const { payload } = await jwtVerify(credential, key, {
          algorithms: [alg],
          requiredClaims: ["exp"],
          clockTolerance: opts.clockToleranceSec ?? 30,
          ...(opts.issuer !== undefined ? { issuer: opts.issuer } : {}),
          ...(opts.audience !== undefined ? { audience: opts.audience } : {}),
          ...(opts.now ? { currentDate: new Date(opts.now() * 1000) } : {}),
        });
        const role = payload.role ?? "read";
        if (typeof role !== "string" || !ROLES.has(role)) return undefined;
        return { name: typeof payload.sub === "string" ? `jwt:${payload.sub}` : "jwt", role: role as Role };
      } catch {
        return undefined;
      }
    },
  };
}

/** Builds the authenticator from the config section, reading the key file once at start. */
export function jwtAuthenticatorFromConfig(jwt: { secret?: string; public_key_file?: string; issuer?: string; audience?: string }): Authenticator {
  return createJwtAuthenticator({
    ...(jwt.secret !== undefined ? { secret: jwt.secret } : {}),
    ...(jwt.public_key_file !== undefined ? { publicKeyPem: readFileSync(jwt.public_key_file, "utf8") } : {}),
    ...(jwt.issuer !== undefined ? { issuer: jwt.issuer } : {}),
    ...(jwt.audience !== undefined ? { audience: jwt.audience } : {}),
  });
}
