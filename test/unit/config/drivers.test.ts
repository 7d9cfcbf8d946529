// The driver, resources and oci sections: mapped onto the procs spec, and every bad value named by its path.
import { describe, expect, test } from "bun:test";
import { SELF, toAppSpec } from "../../../src/config/apps.ts";
import { revisionFieldsOf, withRevision } from "../../../src/config/revision.ts";
import { OCI_SELF } from "../../../src/config/drivers.ts";
import { loadConfigText } from "../../../src/config/load.ts";
import { revisionHash } from "../../../src/core/deploy/revision.ts";

const HOST = { cores: 2, self: { command: "/usr/bin/polis", args: [] } };

function load(text: string) {
  return loadConfigText(text, "test.yaml", {});
}

function problems(text: string): string {
  const r = load(text);
  if (r.ok) throw new Error("expected the config to be rejected");
  return r.error.message;
}

describe("driver and resources config", () => {
  test("resources map onto kernel limits in bytes and cores; exec is the default driver", () => {
    const r = load(`agent: {data_dir: /var/lib/polis}
apps:
  - name: web
    command: /bin/true
    resources: {cpu: 0.5, memory: 256MiB, memory_swap: 0, pids: 512, nofile: 4096}
`);
    if (!r.ok) throw new Error(r.error.message);
    const spec = toAppSpec(r.loaded.config.apps[0]!, r.loaded.config, HOST);
    expect(spec.driver).toEqual({ kind: "exec" });
    expect(spec.resources).toEqual({ cpu: 0.5, memoryBytes: 256 * 1024 * 1024, memorySwapBytes: 0, pids: 512, nofile: 4096, required: false });
  });

  test("an oci app gets its bundle state under the data dir, read-only volumes, and @self mounted from this binary", () => {
    const r = load(`agent: {data_dir: /var/lib/polis}
apps:
  - name: box
    driver: oci
    command: "${SELF}"
    args: [demo-app]
    oci:
      rootfs: /srv/rootfs
      user: "1000"
      volumes: [{source: /srv/data, target: /data}]
      tmpfs: [{target: /cache, size: 16MiB}]
      cap_add: [CAP_NET_RAW]
`);
    if (!r.ok) throw new Error(r.error.message);
    const spec = toAppSpec(r.loaded.config.apps[0]!, r.loaded.config, HOST);
    expect(spec.command).toBe(OCI_SELF);
    expect(spec.args).toEqual(["demo-app"]);
    if (spec.driver?.kind !== "oci") throw new Error("expected oci");
    expect(spec.driver.oci).toMatchObject({
      root: { kind: "rootfs", path: "/srv/rootfs" },
      runtime: "auto",
      stateDir: "/var/lib/polis/containers",
      user: { uid: 1000, gid: 1000 },
      readOnlyRootfs: true,
      capAdd: ["CAP_NET_RAW"],
      seccomp: true,
    });
    const img = load(`
apps:
  - name: box
    driver: oci
    command: /bin/app
    oci: {image: "/srv/images/box:1.0"}
`);
    if (!img.ok) throw new Error(img.error.message);
    const ispec = toAppSpec(img.loaded.config.apps[0]!, img.loaded.config, HOST);
    expect(ispec.driver?.kind === "oci" && ispec.driver.oci.root).toEqual({ kind: "image", image: "/srv/images/box:1.0" });
    expect(spec.driver.oci.mounts).toEqual([
      { source: "/usr/bin/polis", target: OCI_SELF, readOnly: true },
      { source: "/srv/data", target: "/data", readOnly: true },
      { target: "/cache", readOnly: false, tmpfs: { sizeBytes: 16 * 1024 * 1024 } },
    ]);
  });

  test.each([
    ["cpu: 0", "apps[0].resources.cpu"],
    ["memory: lots", "apps[0].resources.memory"],
    ["pids: 0", "apps[0].resources.pids"],
    ["nofile: 2", "apps[0].resources.nofile"],
    ["memory_swap: 1GiB", "apps[0].resources.memory_swap"],
    ["memory: 1KiB", "apps[0].resources.memory"],
    ["cpus: 1", "apps[0].resources.cpus"],
  ])("resources {%s} is rejected at %s", (bad, path) => {
    expect(problems(`apps:\n  - name: web\n    command: /bin/true\n    resources: {${bad}}\n`)).toContain(path);
  });

  test.each([
    ["driver: oci", "apps[0].oci", "needs an oci section"],
    ["oci: {rootfs: /r}", "apps[0].driver", "needs driver: oci"],
    ["driver: oci\n    oci: {rootfs: relative/dir}", "apps[0].oci.rootfs", "absolute"],
    ["driver: oci\n    oci: {image: images/box}", "apps[0].oci.image", "absolute"],
    ["driver: oci\n    oci: {image: /i, read_only: false}", "apps[0].oci.read_only", "shared by every replica"],
    ["driver: oci\n    oci: {rootfs: /r, image: /i}", "apps[0].oci", "exactly one of rootfs"],
    ["driver: oci\n    oci: {runtime: runc}", "apps[0].oci", "exactly one of rootfs"],
    ["driver: oci\n    oci: {rootfs: /r, secrets: [{name: pw}]}", "apps[0].oci.secrets[0]", "exactly one of file"],
    ["driver: oci\n    oci: {rootfs: /r, secrets: [{name: pw, file: pw.txt}]}", "apps[0].oci.secrets[0].file", "absolute"],
    ["driver: oci\n    oci: {rootfs: /r, secrets: [{name: ../pw, env: PW}]}", "apps[0].oci.secrets[0].name", "file name"],
    ["driver: oci\n    oci: {rootfs: /r, secrets: [{name: pw, env: A}, {name: pw, env: B}]}", "apps[0].oci.secrets[1].name", "twice"],
    ["driver: oci\n    oci: {rootfs: /r, volumes: [{source: data, target: /d}]}", "apps[0].oci.volumes[0].source", "absolute"],
    ["driver: oci\n    oci: {rootfs: /r, cap_add: [NET_RAW]}", "apps[0].oci.cap_add[0]", "CAP_"],
    ["driver: oci\n    oci: {rootfs: /r, runtime: docker}", "apps[0].oci.runtime", ""],
    ["driver: docker", "apps[0].driver", ""],
  ])("%s is rejected at %s", (bad, path, words) => {
    const msg = problems(`apps:\n  - name: web\n    command: /bin/true\n    ${bad}\n`);
    expect(msg).toContain(path);
    expect(msg).toContain(words);
  });
});

describe("driver settings as revision fields", () => {
  const loaded = (extra: string) => {
    const r = load(`apps:\n  - name: web\n    command: /bin/true\n${extra}`);
    if (!r.ok) throw new Error(r.error.message);
    return r.loaded.config;
  };
  const app = (extra: string) => loaded(extra).apps[0]!;

  test("new resource limits or a new image make a new revision; the default driver leaves the hash as it was", () => {
    const plain = revisionHash(revisionFieldsOf(app("")));
    expect(revisionHash(revisionFieldsOf(app("    driver: exec\n")))).toBe(plain);
    // The fields an app had before driver settings were revision keys: the same hash, so an upgrade rolls nothing out.
    const before = Object.fromEntries(Object.entries(revisionFieldsOf(app(""))).filter(([k]) => ["command", "args", "cwd", "env", "readiness", "max_memory", "checks"].includes(k)));
    expect(revisionHash(before)).toBe(plain);
    const limited = revisionHash(revisionFieldsOf(app("    resources: {memory: 256MiB}\n")));
    expect(limited).not.toBe(plain);
    expect(revisionHash(revisionFieldsOf(app("    resources: {memory: 512MiB}\n")))).not.toBe(limited);
    const a = revisionHash(revisionFieldsOf(app("    driver: oci\n    oci: {rootfs: /srv/a}\n")));
    const b = revisionHash(revisionFieldsOf(app("    driver: oci\n    oci: {rootfs: /srv/b}\n")));
    expect(a).not.toBe(b);
  });

  test("a replica of an older revision runs that revision's limits and driver, not the app's current ones", () => {
    const old = revisionFieldsOf(app("    resources: {memory: 256MiB}\n"));
    const config = loaded("    driver: oci\n    oci: {rootfs: /srv/a}\n    resources: {memory: 512MiB}\n");
    const spec = toAppSpec(withRevision(config.apps[0]!, old), config, HOST);
    expect(spec.driver).toEqual({ kind: "exec" });
    expect(spec.resources?.memoryBytes).toBe(256 * 1024 * 1024);
  });
});
