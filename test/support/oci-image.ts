// Builds OCI image layouts for the tests, locally (no registry is reachable): each layer is a directory tarred
// (gzipped or not) into blobs/sha256/<digest>, with a config blob, a manifest and index.json, as `skopeo copy ...
// oci:` writes them; `archive()` tars a layout as `podman save --format oci-archive` does.
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface LayerDir {
  readonly dir: string;
  readonly gzip?: boolean;
}

export interface Layout {
  readonly dir: string;
  readonly manifestDigest: string;
  readonly layerDigests: readonly string[];
  remove(): void;
}

const sha256 = (bytes: Uint8Array) => new Bun.CryptoHasher("sha256").update(bytes).digest("hex");

function blob(layout: string, bytes: Uint8Array): { digest: string; size: number } {
  const hex = sha256(bytes);
  writeFileSync(join(layout, "blobs", "sha256", hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}

export function buildLayout(layers: readonly LayerDir[], opts: { ref?: string; into?: string } = {}): Layout {
  const dir = opts.into ?? mkdtempSync(join(tmpdir(), "polis-image-"));
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const descs = layers.map((l) => {
    const tmp = join(dir, "layer.tmp");
    const p = Bun.spawnSync(["tar", l.gzip ? "-czf" : "-cf", tmp, "--numeric-owner", "-C", l.dir, "."], { stderr: "pipe" });
    if (p.exitCode !== 0) throw new Error(`tar: ${p.stderr.toString()}`);
    const bytes = readFileSync(tmp);
    rmSync(tmp);
    return { mediaType: `application/vnd.oci.image.layer.v1.tar${l.gzip ? "+gzip" : ""}`, ...blob(dir, bytes) };
  });
  const config = blob(dir, new TextEncoder().encode(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, config: {} })));
  const manifest = blob(
    dir,
    new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config }, layers: descs })),
  );
  const index = {
    schemaVersion: 2,
    manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest, ...(opts.ref ? { annotations: { "org.opencontainers.image.ref.name": opts.ref } } : {}) }],
  };
  writeFileSync(join(dir, "index.json"), JSON.stringify(index));
  return { dir, manifestDigest: manifest.digest, layerDigests: descs.map((d) => d.digest), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The layout as one oci-archive tar file next to it; returns its path. */
export function archive(layout: Layout): string {
  const out = `${layout.dir}.tar`;
  const p = Bun.spawnSync(["tar", "-cf", `${out}.tmp`, "-C", layout.dir, "."], { stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`tar: ${p.stderr.toString()}`);
  renameSync(`${out}.tmp`, out);
  return out;
}
