// An app's task driver and resource limits in the config file (driver, resources, oci), their cross-field rules,
// and their mapping onto the procs wire spec (src/protocol/drivers.ts).
import { Effect, Schema } from "effect";
import { isAbsolute, join } from "node:path";
import type { DriverSpec, ResourcesSpec } from "../protocol/drivers.ts";
import type { ConfigProblem } from "./problems.ts";
import { ByteSize } from "./units.ts";

const def = <S extends Schema.Top>(schema: S, value: S["Encoded"]) => Schema.withDecodingDefaultKey<S>(Effect.succeed(value))(schema);
const NonEmpty = Schema.String.check(Schema.isMinLength(1, { message: "Expected a non-empty string" }));

/** Kernel-enforced limits of each replica (systemd's CPUQuota, MemoryMax, MemorySwapMax, TasksMax, LimitNOFILE). */
export const Resources = Schema.Struct({
  /** Cores: 0.5 is half of one core (a CFS quota of 50 ms per 100 ms). */
  cpu: Schema.optionalKey(Schema.Number.check(Schema.isBetween({ minimum: 0.01, maximum: 1024 }, { message: "Expected cores between 0.01 and 1024, such as 0.5" }))),
  memory: Schema.optionalKey(ByteSize),
  /** Swap on top of memory; 0 forbids swap. Needs memory. */
  memory_swap: Schema.optionalKey(ByteSize),
  pids: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 4_194_304 }, { message: "Expected a process count between 1 and 4194304" }))),
  nofile: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 16, maximum: 1_048_576 }, { message: "Expected an open-file limit between 16 and 1048576" }))),
  /** Refuse to start replicas when this host cannot enforce every limit set here (default: run and say so). */
  required: def(Schema.Boolean, false),
});

const Volume = Schema.Struct({
  /** Host path; bind-mounted. */
  source: NonEmpty,
  target: NonEmpty,
  read_only: def(Schema.Boolean, true),
});

const Tmpfs = Schema.Struct({
  target: NonEmpty,
  size: Schema.optionalKey(ByteSize),
});

const Secret = Schema.Struct({
  /** The file name under /run/secrets in the container. */
  name: Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/, { message: "Expected a file name of letters, digits, _ . - (up to 64), such as db_password" })),
  /** A host file holding the value (read at each replica start). */
  file: Schema.optionalKey(NonEmpty),
  /** A variable of the agent's own environment holding the value. */
  env: Schema.optionalKey(NonEmpty),
});

const Capability = Schema.String.check(Schema.isPattern(/^CAP_[A-Z_]+$/, { message: "Expected a capability name such as CAP_NET_RAW" }));

/** The container of an `oci` app: a root filesystem directory or an OCI image on disk, run by crun or runc. */
export const Oci = Schema.Struct({
  /** A root filesystem directory (one of rootfs and image). */
  rootfs: Schema.optionalKey(NonEmpty),
  /** An OCI image layout directory or archive (oci-archive); "<path>:<ref>" picks a manifest by ref name. */
  image: Schema.optionalKey(NonEmpty),
  runtime: def(Schema.Literals(["auto", "crun", "runc"]), "auto"),
  /** "uid" or "uid:gid" inside the container (default 0:0, with the default capability set only). */
  user: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^\d{1,10}(:\d{1,10})?$/, { message: 'Expected "uid" or "uid:gid", such as "1000:1000"' }))),
  read_only: def(Schema.Boolean, true),
  volumes: def(Schema.Array(Volume), []),
  tmpfs: def(Schema.Array(Tmpfs), []),
  cap_add: def(Schema.Array(Capability), []),
  seccomp: def(Schema.Boolean, true),
  /** Files on a tmpfs at /run/secrets/<name>, readable by the container's user only. */
  secrets: def(Schema.Array(Secret), []),
});

export const driverFields = {
  driver: def(Schema.Literals(["exec", "oci"]), "exec"),
  resources: Schema.optionalKey(Resources),
  oci: Schema.optionalKey(Oci),
} as const;

type Fields = { readonly driver: "exec" | "oci"; readonly resources?: typeof Resources.Type; readonly oci?: typeof Oci.Type };

export function driverRules(app: Fields, at: string): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  if (app.driver === "oci" && !app.oci) out.push({ path: `${at}.oci`, message: "driver oci needs an oci section with a rootfs or an image" });
  if (app.driver !== "oci" && app.oci) out.push({ path: `${at}.driver`, message: "an oci section needs driver: oci", value: JSON.stringify(app.driver) });
  const r = app.resources;
  if (r?.memory_swap !== undefined && r.memory === undefined) out.push({ path: `${at}.resources.memory_swap`, message: "needs resources.memory (swap is allowed on top of it)" });
  if (r?.memory !== undefined && r.memory < 4 * 1024 * 1024) out.push({ path: `${at}.resources.memory`, message: "must be at least 4MiB (below that nothing starts)", value: String(r.memory) });
  const o = app.oci;
  if (o) {
    if ((o.rootfs === undefined) === (o.image === undefined)) out.push({ path: `${at}.oci`, message: "needs exactly one of rootfs (a directory) and image (an OCI image layout or archive)" });
    if (o.rootfs !== undefined && !isAbsolute(o.rootfs)) out.push({ path: `${at}.oci.rootfs`, message: "must be an absolute path", value: JSON.stringify(o.rootfs) });
    if (o.image !== undefined && !isAbsolute(o.image)) out.push({ path: `${at}.oci.image`, message: "must be an absolute path", value: JSON.stringify(o.image) });
    if (o.image !== undefined && !o.read_only) out.push({ path: `${at}.oci.read_only`, message: "must be true with an image: its unpack is shared by every replica (give writable paths as tmpfs or volumes)", value: "false" });
    o.volumes.forEach((v, i) => {
      if (!isAbsolute(v.source)) out.push({ path: `${at}.oci.volumes[${i}].source`, message: "must be an absolute path", value: JSON.stringify(v.source) });
      if (!isAbsolute(v.target)) out.push({ path: `${at}.oci.volumes[${i}].target`, message: "must be an absolute path", value: JSON.stringify(v.target) });
    });
    const seen = new Set<string>();
    o.secrets.forEach((x, i) => {
      if ((x.file === undefined) === (x.env === undefined)) out.push({ path: `${at}.oci.secrets[${i}]`, message: "needs exactly one of file (a host path) and env (a variable of the agent's environment)" });
      if (x.file !== undefined && !isAbsolute(x.file)) out.push({ path: `${at}.oci.secrets[${i}].file`, message: "must be an absolute path", value: JSON.stringify(x.file) });
      if (seen.has(x.name)) out.push({ path: `${at}.oci.secrets[${i}].name`, message: "is given twice", value: JSON.stringify(x.name) });
      seen.add(x.name);
    });
    o.tmpfs.forEach((t, i) => {
      if (!isAbsolute(t.target)) out.push({ path: `${at}.oci.tmpfs[${i}].target`, message: "must be an absolute path", value: JSON.stringify(t.target) });
    });
  }
  return out;
}

export function toResourcesSpec(r: typeof Resources.Type | undefined): ResourcesSpec | undefined {
  if (!r) return undefined;
  return {
    ...(r.cpu !== undefined ? { cpu: r.cpu } : {}),
    ...(r.memory !== undefined ? { memoryBytes: r.memory } : {}),
    ...(r.memory_swap !== undefined ? { memorySwapBytes: r.memory_swap } : {}),
    ...(r.pids !== undefined ? { pids: r.pids } : {}),
    ...(r.nofile !== undefined ? { nofile: r.nofile } : {}),
    required: r.required,
  };
}

/** Where an oci app's "@self" command finds this binary inside its container (it needs the compiled binary). */
export const OCI_SELF = "/usr/local/bin/polis";

export function toDriverSpec(app: Fields, dataDir: string, selfBinary?: string): DriverSpec {
  const o = app.oci;
  if (app.driver !== "oci" || !o) return { kind: "exec" };
  const [uid, gid] = o.user?.split(":").map(Number) ?? [];
  return {
    kind: "oci",
    oci: {
      root: o.image !== undefined ? { kind: "image", image: o.image } : { kind: "rootfs", path: o.rootfs ?? "/" },
      runtime: o.runtime,
      stateDir: join(dataDir, "containers"),
      ...(uid !== undefined ? { user: { uid, gid: gid ?? uid } } : {}),
      readOnlyRootfs: o.read_only,
      mounts: [
        ...(selfBinary ? [{ source: selfBinary, target: OCI_SELF, readOnly: true }] : []),
        ...o.volumes.map((v) => ({ source: v.source, target: v.target, readOnly: v.read_only })),
        ...o.tmpfs.map((t) => ({ target: t.target, readOnly: false, tmpfs: t.size !== undefined ? { sizeBytes: t.size } : {} })),
      ],
      capAdd: o.cap_add,
      seccomp: o.seccomp,
      secrets: o.secrets.map((x) => ({ name: x.name, from: x.file !== undefined ? { kind: "file" as const, path: x.file } : { kind: "env" as const, name: x.env ?? "" } })),
    },
  };
}
