// OCI images on disk: the manifest is resolved and every blob checked against its digest, layers are unpacked
// in order with their whiteouts into a content-addressed cache reused across calls (and cache instances, as a
// restarted agent), archives work like layouts, a tampered or broken image is refused with the path and digest
// and leaves no unpack behind, and unpacks no bundle references are collected.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createImageCache } from "../../../../src/procs/drivers/oci-image.ts";
import { archive, buildLayout } from "../../../support/oci-image.ts";

const work = mkdtempSync(join(tmpdir(), "polis-image-test-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;
const dirOf = (files: Record<string, string | null>, links: Record<string, string> = {}) => {
  const d = join(work, `layer-${n++}`);
  mkdirSync(d);
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(join(d, p, content === null ? "" : ".."), { recursive: true });
    if (content !== null) writeFileSync(join(d, p), content);
  }
  for (const [p, to] of Object.entries(links)) symlinkSync(to, join(d, p));
  return d;
};

/** Base: /etc/keep, /etc/gone, /var/cache/a, /var/cache/b. Top: whiteout of /etc/gone, opaque /var/cache with c, new /etc/new. */
function twoLayers() {
  const base = dirOf({ "etc/keep": "k", "etc/gone": "g", "var/cache/a": "a", "var/cache/b": "b", "bin/tool": "v1" });
  const top = dirOf({ "etc/.wh.gone": "", "etc/new": "n", "var/cache/.wh..wh..opq": "", "var/cache/c": "c", "bin/tool": "v2" });
  return [{ dir: base }, { dir: top, gzip: true }];
}

describe("oci images", () => {
  test("layers unpack in order with whiteouts; the unpack is cached and reused by a later cache (agent restart)", () => {
    const layout = buildLayout(twoLayers(), { into: join(work, "img-a") });
    const state = join(work, "state-a");
    const first = createImageCache(state).resolve(layout.dir);
    expect(first.unpacked).toBe(true);
    expect(first.digest).toBe(layout.manifestDigest);
    expect(first.rootfs).toBe(join(state, "images", `sha256-${layout.manifestDigest.slice(7)}`, "rootfs"));
    const r = first.rootfs;
    expect(readFileSync(join(r, "etc/keep"), "utf8")).toBe("k");
    expect(readFileSync(join(r, "etc/new"), "utf8")).toBe("n");
    expect(existsSync(join(r, "etc/gone"))).toBe(false);
    expect(readdirSync(join(r, "var/cache"))).toEqual(["c"]);
    expect(readFileSync(join(r, "bin/tool"), "utf8")).toBe("v2");
    expect(readdirSync(join(r, "etc")).some((f) => f.startsWith(".wh."))).toBe(false);
    // A second replica, and a new agent over the same data dir, reuse the unpack.
    expect(createImageCache(state).resolve(layout.dir)).toEqual({ ...first, unpacked: false });
    // By ref name too ("<path>:<ref>").
    const named = buildLayout(twoLayers(), { into: join(work, "img-named"), ref: "1.0" });
    expect(createImageCache(state).resolve(`${named.dir}:1.0`).digest).toBe(named.manifestDigest);
    expect(() => createImageCache(state).resolve(`${named.dir}:2.0`)).toThrow(`has no manifest named "2.0" (it has: 1.0)`);
  });

  test("an oci-archive unpacks like its layout, to the same cache entry", () => {
    const layout = buildLayout(twoLayers(), { into: join(work, "img-b") });
    const tar = archive(layout);
    const state = join(work, "state-b");
    const cache = createImageCache(state);
    const fromArchive = cache.resolve(tar);
    expect(fromArchive).toMatchObject({ digest: layout.manifestDigest, unpacked: true });
    expect(readFileSync(join(fromArchive.rootfs, "etc/new"), "utf8")).toBe("n");
    expect(cache.resolve(tar).unpacked).toBe(false);
    expect(cache.resolve(layout.dir)).toEqual({ ...fromArchive, unpacked: false });
    // No scratch left behind.
    expect(readdirSync(join(state, "images"))).toEqual([`sha256-${layout.manifestDigest.slice(7)}`]);
  });

  test("a tampered layer, a missing blob, or a layer escaping the rootfs is refused with the path and digest; nothing is cached", () => {
    const state = join(work, "state-c");
    const layout = buildLayout(twoLayers(), { into: join(work, "img-c") });
    const blob = join(layout.dir, "blobs", "sha256", layout.layerDigests[0]!.slice(7));
    const bytes = readFileSync(blob);
    bytes[600] = bytes[600]! ^ 1;
    writeFileSync(blob, bytes);
    expect(() => createImageCache(state).resolve(layout.dir)).toThrow(`image ${layout.dir}: layer 0 blob ${blob} fails its digest: expected ${layout.layerDigests[0]}, found sha256:`);
    rmSync(blob);
    expect(() => createImageCache(state).resolve(layout.dir)).toThrow(`image ${layout.dir}: layer 0 ${layout.layerDigests[0]}: blob ${blob} cannot be read`);
    expect(readdirSync(join(state, "images"))).toEqual([]);

    // A lower layer's symlink to / and an upper layer writing through it: refused, the host untouched.
    const target = join(work, "escape-target");
    mkdirSync(target);
    const evil = buildLayout([{ dir: dirOf({}, { out: target }) }, { dir: dirOf({ "out/pwned": "x" }) }], { into: join(work, "img-evil") });
    expect(() => createImageCache(state).resolve(evil.dir)).toThrow("layer 1 (");
    expect(() => createImageCache(state).resolve(evil.dir)).toThrow('entry "./out/pwned" goes through a symlink out of the root filesystem');
    expect(existsSync(join(target, "pwned"))).toBe(false);
    expect(readdirSync(join(state, "images"))).toEqual([]);

    expect(() => createImageCache(state).resolve(join(work, "no-such-image"))).toThrow(`image ${join(work, "no-such-image")} does not exist`);
    const notLayout = dirOf({ "x": "y" });
    expect(() => createImageCache(state).resolve(notLayout)).toThrow(`is not an OCI image layout (no oci-layout file)`);
    writeFileSync(join(notLayout, "oci-layout"), "{}");
    writeFileSync(join(notLayout, "index.json"), "not json");
    expect(() => createImageCache(state).resolve(notLayout)).toThrow(`image index ${join(notLayout, "index.json")} is not a JSON object`);
  });

  test("unpacks no bundle references are collected when a new image is unpacked; referenced ones stay", () => {
    const state = join(work, "state-d");
    const a = buildLayout(twoLayers(), { into: join(work, "img-d1") });
    const b = buildLayout([{ dir: dirOf({ "only/b": "b" }) }], { into: join(work, "img-d2") });
    const c = buildLayout([{ dir: dirOf({ "only/c": "c" }) }], { into: join(work, "img-d3") });
    const cache = createImageCache(state);
    const ra = cache.resolve(a.dir);
    // A bundle (a running container) uses a's unpack.
    mkdirSync(join(state, "bundles", "box-0"), { recursive: true });
    writeFileSync(join(state, "bundles", "box-0", "config.json"), JSON.stringify({ root: { path: ra.rootfs } }));
    const rb = cache.resolve(b.dir);
    expect(existsSync(ra.rootfs)).toBe(true);
    // b's unpack is referenced by nothing once c is unpacked: collected; a's stays while its bundle exists.
    cache.resolve(c.dir);
    expect(existsSync(rb.rootfs)).toBe(false);
    expect(existsSync(ra.rootfs)).toBe(true);
    rmSync(join(state, "bundles", "box-0"), { recursive: true });
    // A new agent removes a crashed unpack's staging directory, keeps unpacks for reuse until the next new image.
    mkdirSync(join(state, "images", ".tmp-deadbeef-1-x"));
    expect(createImageCache(state).resolve(c.dir).unpacked).toBe(false);
    expect(readdirSync(join(state, "images")).sort()).toEqual([`sha256-${a.manifestDigest.slice(7)}`, `sha256-${c.manifestDigest.slice(7)}`].sort());
    const d = buildLayout([{ dir: dirOf({ "only/d": "d" }) }], { into: join(work, "img-d4") });
    createImageCache(state).resolve(d.dir);
    expect(readdirSync(join(state, "images"))).toEqual([`sha256-${d.manifestDigest.slice(7)}`]);
  });
});
