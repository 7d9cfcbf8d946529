// The oci driver: each replica is a container run in the foreground by crun or runc (`<runtime> run --bundle`),
// so the runtime process is the replica's process-group leader: its exit status is the container's, its output
// files are the container's stdout and stderr, and an agent crash leaves it running to be adopted (it carries
// the replica's POLIS_* environment, as an exec replica does).
//
// Bundles (config.json) live under <data_dir>/containers/bundles/<id>, the runtime's state under
// <data_dir>/containers/<runtime>. The runtime starts inside the replica's cgroup (limits.ts), so the
// container's processes are bound by the app's resources and a forced stop reaches all of them there.
// Signals: runc forwards what its foreground process receives to the container's init; crun is told with
// `crun kill`. A container id is fixed per slot (<agent scope>-<app>-<id>): a leftover of a crashed run is
// deleted before the slot starts again, so a slot never runs two containers.
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { OciSpec } from "../../protocol/drivers.ts";
import type { CgroupSupport } from "../cgroups/detect.ts";
import { OWNER_ENV } from "../orphans.ts";
import { groupAlive, settlesWithin, signalGroup, signalPid } from "../process-group.ts";
import { type Driver, DriverError, type DriverRun, type RunRequest } from "./driver.ts";
import { type RunLimits, adoptLimits, prepareLimits, scopeOf } from "./limits.ts";
import { type ImageCache, ImageError, createImageCache } from "./oci-image.ts";
import { ociConfig } from "./oci-spec.ts";

/** `runtime delete` of a stopped container takes milliseconds; a hung runtime must not hold a slot forever. */
const DELETE_TIMEOUT_MS = 5_000;

export type RuntimeName = "crun" | "runc";

export interface RuntimeChoice {
  readonly name: RuntimeName;
  readonly path: string;
}

/**
 * crun 1.x refuses a hybrid layout (v1 controllers plus a cgroup2 mount holding a controller: "cgroups in
 * hybrid mode not supported"), even with its cgroup manager disabled; runc runs there. Elsewhere crun is
 * preferred: it starts faster and uses less memory.
 */
export function crunUsable(mounts: string): boolean {
  for (const line of mounts.split("\n")) {
    const [, dir, type] = line.split(" ");
    if (type !== "cgroup2" || dir === "/sys/fs/cgroup") continue;
    try {
      if (readFileSync(join(dir!, "cgroup.controllers"), "utf8").trim() !== "") return false;
    } catch {
      // Unreadable: no controllers we could trip over.
    }
  }
  return true;
}

export function chooseRuntime(want: OciSpec["runtime"], which: (bin: string) => string | null = Bun.which, mounts = readMounts()): RuntimeChoice | { error: string } {
  const crun = which("crun");
  const runc = which("runc");
  if (want === "crun") return crun ? { name: "crun", path: crun } : { error: "runtime crun is not installed (apt-get install crun)" };
  if (want === "runc") return runc ? { name: "runc", path: runc } : { error: "runtime runc is not installed (apt-get install runc)" };
  if (crun && crunUsable(mounts)) return { name: "crun", path: crun };
  if (runc) return { name: "runc", path: runc };
  if (crun) return { error: "crun cannot run on this host's hybrid cgroup layout and runc is not installed (apt-get install runc)" };
  return { error: "no OCI runtime is installed (apt-get install crun or runc)" };
}

function readMounts(): string {
  try {
    return readFileSync("/proc/self/mounts", "utf8");
  } catch {
    return "";
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Where secret files are written on the host: a tmpfs, so a value never reaches a disk. */
export const SECRETS_BASE = "/dev/shm/polis-secrets";
const TMPFS_MAGIC = 0x01021994;

function secretsDirOf(cid: string): string {
  return join(SECRETS_BASE, cid);
}

/** Each secret's value, read before anything is created; errors name the secret and its source, never a value. */
function readSecrets(app: string, oci: OciSpec): { name: string; value: Uint8Array }[] {
  return oci.secrets.map((s) => {
    if (s.from.kind === "env") {
      const v = process.env[s.from.name];
      if (v === undefined) throw new DriverError(app, `secret ${s.name}: the agent's environment has no ${s.from.name}`);
      return { name: s.name, value: new TextEncoder().encode(v) };
    }
    try {
      return { name: s.name, value: readFileSync(s.from.path) };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new DriverError(app, `secret ${s.name}: cannot read ${s.from.path} (${code ?? (e instanceof Error ? e.message : String(e))})`);
    }
  });
}

/** Writes the secret files (mode 0400, owned by the container's user) into a fresh per-container tmpfs directory. */
function writeSecrets(app: string, cid: string, secrets: { name: string; value: Uint8Array }[], user: OciSpec["user"]): string {
  let fsType: number;
  try {
    mkdirSync(SECRETS_BASE, { recursive: true, mode: 0o700 });
    fsType = Number(statfsSync(SECRETS_BASE).type);
  } catch (e) {
    throw new DriverError(app, `secrets: cannot use ${SECRETS_BASE} (${e instanceof Error ? e.message : String(e)})`);
  }
  if (fsType !== TMPFS_MAGIC) throw new DriverError(app, `secrets: ${SECRETS_BASE} is not on a tmpfs (mount one at /dev/shm), refusing to write secrets to disk`);
  const dir = secretsDirOf(cid);
  const uid = user?.uid ?? 0;
  const gid = user?.gid ?? 0;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { mode: 0o500 });
  for (const s of secrets) {
    const f = join(dir, s.name);
    writeFileSync(f, s.value, { mode: 0o400 });
    chownSync(f, uid, gid);
  }
  chmodSync(dir, 0o500);
  chownSync(dir, uid, gid);
  return dir;
}

export function containerId(owner: string, app: string, id: number): string {
  return `${scopeOf(owner)}-${app}-${id}`;
}

export function createOciDriver(support: CgroupSupport, which?: (bin: string) => string | null): Driver {
  const chosen = new Map<string, RuntimeChoice | { error: string }>();
  const caches = new Map<string, ImageCache>();
  const cacheFor = (stateDir: string) => {
    let c = caches.get(stateDir);
    if (!c) caches.set(stateDir, (c = createImageCache(stateDir)));
    return c;
  };
  /** The rootfs directory of an app: its own, or its image unpacked (verified, cached) before anything is created. */
  const rootfsOf = (app: string, oci: OciSpec): string => {
    if (oci.root.kind === "rootfs") {
      if (!isDir(oci.root.path)) throw new DriverError(app, `oci.rootfs ${oci.root.path} is not a directory`);
      return oci.root.path;
    }
    try {
      return cacheFor(oci.stateDir).resolve(oci.root.image).rootfs;
    } catch (e) {
      throw new DriverError(app, e instanceof ImageError ? e.message : `image ${oci.root.image}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const runtimeFor = (oci: OciSpec) => {
    let c = chosen.get(oci.runtime);
    if (!c) chosen.set(oci.runtime, (c = chooseRuntime(oci.runtime, which)));
    return c;
  };

  const globalArgs = (rt: RuntimeChoice, oci: OciSpec) => ["--root", join(oci.stateDir, rt.name), ...(rt.name === "crun" ? ["--cgroup-manager=disabled"] : [])];

  const run = (req: RunRequest, oci: OciSpec, rt: RuntimeChoice, limits: RunLimits, argv: string[]): DriverRun => {
    const cid = containerId(req.owner, req.spec.name, req.id);
    const cg = limits.cgroup;
    const stateOf = join(oci.stateDir, rt.name, cid);
    const bundle = join(oci.stateDir, "bundles", cid);
    const tell = (sig: NodeJS.Signals) => {
      try {
        Bun.spawn([rt.path, ...globalArgs(rt, oci), "kill", cid, sig.replace(/^SIG/, "")], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
      } catch {
        // Runtime gone: the group signal below and the cgroup kill still reach the processes.
      }
    };
    return {
      launch: { argv: limits.wrap(argv), env: req.env, cwd: bundle },
      holds: true,
      signal(pgid, sig) {
        if (rt.name === "crun" && sig !== "SIGKILL") tell(sig);
        else if (!signalGroup(pgid, sig)) signalPid(pgid, sig);
        if (sig === "SIGKILL") {
          // The container's init is not in the runtime's process group: the cgroup (or the runtime) reaches it.
          if (cg) cg.killAll();
          else tell(sig);
          signalGroup(pgid, sig);
        }
      },
      alive: (pgid) => groupAlive(pgid) || (cg !== null && cg.members().length > 0),
      // The runtime reports a SIGKILLed init as 137 (128 + 9).
      exitCause: (code, signal) => (cg && (cg.oomKilled() || ((code === 137 || signal === "SIGKILL") && cg.memoryLimitHit())) ? "oom-killed" : null),
      usage: () => limits.usage(),
      members: () => cg?.members() ?? null,
      async release() {
        if (existsSync(stateOf)) {
          const p = Bun.spawn([rt.path, ...globalArgs(rt, oci), "delete", "--force", cid], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
          if (!(await settlesWithin(p.exited, DELETE_TIMEOUT_MS))) p.kill("SIGKILL");
        }
        cg?.remove();
        rmSync(bundle, { recursive: true, force: true });
        rmSync(secretsDirOf(cid), { recursive: true, force: true });
      },
    };
  };

  const resolve = (req: RunRequest): { oci: OciSpec; rt: RuntimeChoice } => {
    const d = req.spec.driver;
    if (d.kind !== "oci") throw new DriverError(req.spec.name, "the oci driver got an app without an oci section");
    const rt = runtimeFor(d.oci);
    if ("error" in rt) throw new DriverError(req.spec.name, rt.error);
    return { oci: d.oci, rt };
  };

  return {
    kind: "oci",
    start(req) {
      const { oci, rt } = resolve(req);
      const app = req.spec.name;
      // Everything that can fail is checked before the cgroup and the bundle exist.
      for (const m of oci.mounts) if (m.source !== undefined && !existsSync(m.source)) throw new DriverError(app, `volume source ${m.source} (for ${m.target}) does not exist`);
      const rootfs = rootfsOf(app, oci);
      const secrets = readSecrets(app, oci);
      const cid = containerId(req.owner, app, req.id);
      const bundle = join(oci.stateDir, "bundles", cid);
      const limits = prepareLimits(support, app, req.owner, req.id, req.spec.resources, true);
      try {
        const stale = join(oci.stateDir, rt.name, cid);
        if (existsSync(stale)) Bun.spawnSync([rt.path, ...globalArgs(rt, oci), "delete", "--force", cid], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
        mkdirSync(bundle, { recursive: true });
        const secretsDir = secrets.length > 0 ? writeSecrets(app, cid, secrets, oci.user) : undefined;
        const env: Record<string, string> = { ...req.spec.env };
        // The app and replica, not the owner: only the runtime (the slot's group leader) may claim the slot when a
        // restarted agent looks for orphans; the container's init leads a group too and must not look like one.
        for (const [k, v] of Object.entries(req.env)) if ((k.startsWith("POLIS_") && k !== OWNER_ENV) || k === req.spec.portEnv) env[k] = v;
        const config = ociConfig(oci, {
          args: [req.spec.command, ...req.spec.args],
          env,
          cwd: req.spec.cwd,
          hostname: `${app}-${req.id}`,
          rootfs,
          ...(secretsDir ? { secretsDir } : {}),
          ...(req.spec.resources?.nofile !== undefined ? { nofile: req.spec.resources.nofile } : {}),
          // runc nests the container's group in its own (the replica's); with crun's manager disabled it stays there.
          cgroupsPath: rt.name === "runc" && limits.cgroup ? cid : null,
        });
        writeFileSync(join(bundle, "config.json"), JSON.stringify(config));
      } catch (e) {
        limits.cgroup?.remove();
        rmSync(secretsDirOf(cid), { recursive: true, force: true });
        if (e instanceof DriverError) throw e;
        throw new DriverError(app, `cannot write the bundle ${bundle}: ${e instanceof Error ? e.message : String(e)}`);
      }
      return run(req, oci, rt, limits, [rt.path, ...globalArgs(rt, oci), "run", "--bundle", bundle, cid]);
    },
    adopt(req) {
      const { oci, rt } = resolve(req);
      return run(req, oci, rt, adoptLimits(support, req.spec.name, req.owner, req.id), []);
    },
  };
}
