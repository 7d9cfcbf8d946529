// OCI images on disk for the oci driver: an image layout directory (oci-layout, index.json, blobs/sha256/...) or
// an archive of one (`podman save --format oci-archive`, `skopeo copy ... oci-archive:`). The manifest is
// resolved from index.json (by ref name when asked, else the one for this platform), every blob it names
// (manifest, config, layers) is checked against its sha256 digest and size, and the layers are unpacked in order
// with their whiteouts into a content-addressed cache: <images>/sha256-<manifest hex>/rootfs. An unpack goes to a
// staging directory renamed into place only once complete, so a half-unpacked rootfs is never used; replicas and
// later agents reuse it. When a new image is unpacked, the unpacks no container bundle references are
// garbage-collected (an image that changed leaves its old unpack to collect once its last container is gone).
//
// Layers are extracted by GNU tar (--numeric-owner, compression detected), after the layer's whiteouts are
// applied to the layers below: `.wh.<name>` removes <name>, `.wh..wh..opq` empties its directory. Entries with a
// `..` component, or whose parent resolves outside the rootfs through a symlink of a lower layer, are refused.
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export class ImageError extends Error {
  readonly _tag = "ImageError";
}

interface Descriptor {
  readonly mediaType?: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Record<string, string>;
  readonly platform?: { readonly os?: string; readonly architecture?: string };
}

const INDEX_TYPES = new Set(["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"]);
const LAYER_TYPES = new Set([
  "application/vnd.oci.image.layer.v1.tar",
  "application/vnd.oci.image.layer.v1.tar+gzip",
  "application/vnd.oci.image.layer.v1.tar+zstd",
  "application/vnd.docker.image.rootfs.diff.tar.gzip",
]);
const REF_NAME = "org.opencontainers.image.ref.name";
const GOARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };

export interface ResolvedImage {
  /** sha256:<hex> of the manifest: the cache key. */
  readonly digest: string;
  /** The unpacked root filesystem (complete). */
  readonly rootfs: string;
  /** Whether this call unpacked it (false: found in the cache). */
  readonly unpacked: boolean;
}

/** "/srv/img:3.19" names ref 3.19 of the layout /srv/img when "/srv/img:3.19" itself does not exist. */
export function splitRef(image: string): { path: string; ref: string | null } {
  if (existsSync(image)) return { path: image, ref: null };
  const i = image.lastIndexOf(":");
  if (i > 0 && !image.slice(i + 1).includes("/")) return { path: image.slice(0, i), ref: image.slice(i + 1) };
  return { path: image, ref: null };
}

function parseDigest(d: unknown, where: string): string {
  if (typeof d !== "string" || !/^sha256:[0-9a-f]{64}$/.test(d)) throw new ImageError(`${where}: digest ${JSON.stringify(d)} is not sha256:<64 hex>`);
  return d.slice(7);
}

function descriptor(v: unknown, where: string): Descriptor {
  if (typeof v !== "object" || v === null) throw new ImageError(`${where}: not a descriptor object`);
  const d = v as Descriptor;
  parseDigest(d.digest, where);
  if (typeof d.size !== "number" || !Number.isSafeInteger(d.size) || d.size < 0) throw new ImageError(`${where}: size ${JSON.stringify(d.size)} is not a byte count`);
  return d;
}

/** sha256 hex of a file, read in chunks (a layer can be large). */
function sha256File(path: string): { hex: string; size: number } {
  const h = new Bun.CryptoHasher("sha256");
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(path, "r");
  let size = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      size += n;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return { hex: h.digest("hex"), size };
}

/** The blob of `d`, checked against its digest and size; `read` returns its bytes (for JSON blobs). */
function verifiedBlob(layout: string, d: Descriptor, what: string): string {
  const hex = parseDigest(d.digest, what);
  const path = join(layout, "blobs", "sha256", hex);
  let got: { hex: string; size: number };
  try {
    got = sha256File(path);
  } catch (e) {
    throw new ImageError(`${what} ${d.digest}: blob ${path} cannot be read (${e instanceof Error ? e.message : String(e)})`);
  }
  if (got.hex !== hex) throw new ImageError(`${what} blob ${path} fails its digest: expected ${d.digest}, found sha256:${got.hex}`);
  if (got.size !== d.size) throw new ImageError(`${what} blob ${path} is ${got.size} bytes, its descriptor says ${d.size}`);
  return path;
}

function readJson(path: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ImageError(`${what} ${path} cannot be read (${e instanceof Error ? e.message : String(e)})`);
  }
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // Reported below.
  }
  throw new ImageError(`${what} ${path} is not a JSON object`);
}

function pick(list: Descriptor[], ref: string | null, where: string): Descriptor {
  if (ref !== null) {
    const m = list.find((d) => d.annotations?.[REF_NAME] === ref);
    if (!m) throw new ImageError(`${where} has no manifest named ${JSON.stringify(ref)} (it has: ${list.map((d) => d.annotations?.[REF_NAME] ?? d.digest).join(", ") || "none"})`);
    return m;
  }
  if (list.length === 1) return list[0]!;
  const arch = GOARCH[process.arch] ?? process.arch;
  const mine = list.filter((d) => !d.platform || (d.platform.os === "linux" && d.platform.architecture === arch));
  if (mine.length === 1) return mine[0]!;
  if (list.length === 0) throw new ImageError(`${where} lists no manifest`);
  throw new ImageError(`${where} lists ${list.length} manifests; name one as <path>:<ref> (refs: ${list.map((d) => d.annotations?.[REF_NAME] ?? "unnamed").join(", ")})`);
}

interface Manifest {
  readonly digest: string;
  readonly path: string;
  readonly layers: Descriptor[];
  readonly config: Descriptor;
}

/** The image manifest of a layout, its own digest checked (nested indexes followed). */
export function resolveManifest(layout: string, ref: string | null): Manifest {
  if (!existsSync(join(layout, "oci-layout"))) throw new ImageError(`${layout} is not an OCI image layout (no oci-layout file)`);
  const indexPath = join(layout, "index.json");
  let where = indexPath;
  let list = manifestsOf(readJson(indexPath, "image index"), where);
  for (let depth = 0; depth < 4; depth++) {
    const d = pick(list, depth === 0 ? ref : null, where);
    const path = verifiedBlob(layout, d, "manifest");
    const m = readJson(path, "manifest");
    const type = (m.mediaType as string | undefined) ?? d.mediaType;
    if (type !== undefined && INDEX_TYPES.has(type)) {
      where = path;
      list = manifestsOf(m, where);
      continue;
    }
    if (!Array.isArray(m.layers)) throw new ImageError(`manifest ${path} has no layers list`);
    const layers = m.layers.map((l, i) => descriptor(l, `manifest ${path} layers[${i}]`));
    layers.forEach((l, i) => {
      if (l.mediaType !== undefined && !LAYER_TYPES.has(l.mediaType)) throw new ImageError(`manifest ${path} layers[${i}] has media type ${l.mediaType}, which is not a tar layer this agent can unpack`);
    });
    return { digest: d.digest, path, layers, config: descriptor(m.config, `manifest ${path} config`) };
  }
  throw new ImageError(`${layout}: image indexes nest more than 4 deep`);
}

function manifestsOf(index: Record<string, unknown>, where: string): Descriptor[] {
  if (!Array.isArray(index.manifests)) throw new ImageError(`${where} has no manifests list`);
  return index.manifests.map((d, i) => descriptor(d, `${where} manifests[${i}]`));
}

function tar(args: string[], what: string): string {
  const p = Bun.spawnSync(["tar", ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new ImageError(`${what}: tar ${args[0]} failed: ${p.stderr.toString().trim().split("\n").slice(-3).join("; ") || `exit ${p.exitCode}`}`);
  return p.stdout.toString();
}

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(`${root}/`);
}

/** Applies one layer onto `rootfs`: its whiteouts to the layers below, then its files. */
function applyLayer(rootfs: string, blob: string, what: string): void {
  const root = realpathSync(rootfs);
  const checked = new Map<string, boolean>();
  const parentInside = (rel: string): boolean => {
    // The deepest existing ancestor of the entry must resolve inside the rootfs (a lower layer's symlink must
    // not carry an entry out of it).
    let dir = dirname(rel);
    while (dir !== "." && dir !== "/" && !existsSync(join(root, dir))) dir = dirname(dir);
    const full = dir === "." || dir === "/" ? root : join(root, dir);
    let ok = checked.get(full);
    if (ok === undefined) {
      try {
        ok = inside(root, realpathSync(full));
      } catch {
        ok = false;
      }
      checked.set(full, ok);
    }
    return ok;
  };
  const names = tar(["-t", "-f", blob], what).split("\n").filter(Boolean);
  for (const raw of names) {
    const rel = raw.replace(/^(\.\/|\/)+/, "").replace(/\/+$/, "");
    if (rel === "" || rel === ".") continue;
    if (rel.split("/").includes("..")) throw new ImageError(`${what}: entry ${JSON.stringify(raw)} leaves the root filesystem`);
    if (!parentInside(rel)) throw new ImageError(`${what}: entry ${JSON.stringify(raw)} goes through a symlink out of the root filesystem`);
    const base = rel.slice(rel.lastIndexOf("/") + 1);
    if (!base.startsWith(".wh.")) continue;
    const dir = join(root, dirname(rel));
    if (base === ".wh..wh..opq") {
      // Opaque: the directory's contents from the layers below are hidden.
      let entries: string[] = [];
      try {
        entries = lstatSync(dir).isDirectory() ? readdirSync(dir) : [];
      } catch {
        // Not there below: nothing to hide.
      }
      for (const e of entries) rmSync(join(dir, e), { recursive: true, force: true });
    } else {
      rmSync(join(dir, base.slice(4)), { recursive: true, force: true });
    }
  }
  tar(["-x", "-f", blob, "-C", root, "--numeric-owner", "--exclude=.wh.*"], what);
}

export interface ImageCache {
  /** Resolves `image` (a layout directory or archive, optionally <path>:<ref>) to a complete rootfs. */
  resolve(image: string): ResolvedImage;
  /** Removes unpacks no bundle references (except `keep`). */
  gc(keep?: string): string[];
}

/**
 * The cache under `<stateDir>/images`; `bundles` holds the bundles whose config.json `root.path` marks an unpack
 * as in use.
 */
export function createImageCache(stateDir: string): ImageCache {
  const images = join(stateDir, "images");
  const bundles = join(stateDir, "bundles");
  // An archive is unpacked to find its manifest once per (path, size, mtime) in this process.
  const archives = new Map<string, string>();
  let staleSwept = false;
  // Unpacks are synchronous in this process: a staging directory found at its first start is a crashed run's.
  const sweepStaging = () => {
    let names: string[] = [];
    try {
      names = readdirSync(images);
    } catch {
      // No cache yet.
    }
    for (const n of names) if (n.startsWith(".tmp-")) rmSync(join(images, n), { recursive: true, force: true });
  };

  const entryOf = (digest: string) => join(images, `sha256-${digest.slice(7)}`);

  const unpack = (layout: string, m: Manifest, image: string): string => {
    const entry = entryOf(m.digest);
    const staging = join(images, `.tmp-${m.digest.slice(7, 19)}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
    mkdirSync(join(staging, "rootfs"), { recursive: true });
    try {
      verifiedBlob(layout, m.config, "config");
      // Every layer is verified before any is unpacked.
      const blobs = m.layers.map((l, i) => verifiedBlob(layout, l, `layer ${i}`));
      blobs.forEach((b, i) => applyLayer(join(staging, "rootfs"), b, `${image}: layer ${i} (${m.layers[i]!.digest})`));
      writeFileSync(join(staging, "image.json"), JSON.stringify({ source: image, manifest: m.digest, layers: m.layers.map((l) => l.digest) }));
      renameSync(staging, entry);
    } catch (e) {
      rmSync(staging, { recursive: true, force: true });
      throw e;
    }
    return entry;
  };

  const cache: ImageCache = {
    resolve(image) {
      if (!staleSwept) {
        staleSwept = true;
        sweepStaging();
      }
      const { path, ref } = splitRef(image);
      let st: ReturnType<typeof statSync>;
      try {
        st = statSync(path);
      } catch {
        throw new ImageError(`image ${image} does not exist`);
      }
      mkdirSync(images, { recursive: true });
      const wrap = (e: unknown): never => {
        if (e instanceof ImageError) throw new ImageError(`image ${image}: ${e.message}`);
        throw new ImageError(`image ${image}: ${e instanceof Error ? e.message : String(e)}`);
      };
      if (st.isDirectory()) {
        try {
          const m = resolveManifest(path, ref);
          const entry = entryOf(m.digest);
          if (existsSync(entry)) return { digest: m.digest, rootfs: join(entry, "rootfs"), unpacked: false };
          const made = unpack(path, m, image);
          cache.gc(made);
          return { digest: m.digest, rootfs: join(made, "rootfs"), unpacked: true };
        } catch (e) {
          return wrap(e);
        }
      }
      const key = `${path}|${ref ?? ""}|${st.size}|${st.mtimeMs}`;
      const known = archives.get(key);
      if (known && existsSync(entryOf(known))) return { digest: known, rootfs: join(entryOf(known), "rootfs"), unpacked: false };
      const scratch = join(images, `.tmp-archive-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
      mkdirSync(scratch, { recursive: true });
      try {
        tar(["-x", "-f", path, "-C", scratch, "--no-same-owner", "--no-same-permissions"], `archive ${path}`);
        const m = resolveManifest(scratch, ref);
        archives.set(key, m.digest);
        const entry = entryOf(m.digest);
        if (existsSync(entry)) return { digest: m.digest, rootfs: join(entry, "rootfs"), unpacked: false };
        const made = unpack(scratch, m, image);
        cache.gc(made);
        return { digest: m.digest, rootfs: join(made, "rootfs"), unpacked: true };
      } catch (e) {
        return wrap(e);
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    },
    gc(keep) {
      let names: string[];
      try {
        names = readdirSync(images);
      } catch {
        return [];
      }
      const used = new Set<string>();
      let bundleDirs: string[] = [];
      try {
        bundleDirs = readdirSync(bundles);
      } catch {
        // No bundles: nothing in use.
      }
      for (const b of bundleDirs) {
        try {
          const root = (JSON.parse(readFileSync(join(bundles, b, "config.json"), "utf8")) as { root?: { path?: string } }).root?.path;
          if (typeof root === "string" && inside(images, root)) used.add(root.slice(images.length + 1).split("/")[0]!);
        } catch {
          // A bundle being written or removed: its unpack, if any, is the one being started (kept below).
        }
      }
      const removed: string[] = [];
      for (const n of names) {
        const full = join(images, n);
        if (n.startsWith("sha256-") && !used.has(n) && full !== keep) {
          rmSync(full, { recursive: true, force: true });
          removed.push(n);
        }
      }
      return removed;
    },
  };
  return cache;
}
