// Builds a container root filesystem for the oci driver's tests, locally (no registry is reachable): Debian's
// static busybox with its applets, plus the shared libraries a host binary needs (ldd), so that binary can be
// bind-mounted into the container (the polis binary itself, or bun for the fixtures).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const BUSYBOX = ["/usr/bin/busybox", "/bin/busybox"];
const APPLETS = ["sh", "sleep", "echo", "cat", "ls", "head", "tr", "httpd", "kill", "ps", "true", "false", "wc", "grep"];

export interface Rootfs {
  readonly dir: string;
  remove(): void;
}

/** Null with the reason when this machine cannot build one (no static busybox). */
export function buildRootfs(libsOf: readonly string[] = []): Rootfs | { skip: string } {
  const busybox = BUSYBOX.find((p) => existsSync(p));
  if (!busybox) return { skip: "no static busybox (apt-get install busybox-static)" };
  const dir = mkdtempSync(join(tmpdir(), "polis-rootfs-"));
  for (const d of ["bin", "tmp", "proc", "dev", "sys", "etc", "usr/local/bin"]) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(busybox, join(dir, "bin/busybox"));
  for (const a of APPLETS) symlinkSync("busybox", join(dir, "bin", a));
  for (const bin of libsOf) {
    const out = Bun.spawnSync(["ldd", bin], { stdout: "pipe", stderr: "pipe" });
    for (const line of out.stdout.toString().split("\n")) {
      // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
      const m = /(\/\S+) \(0x/.exec(line);
      if (!m) continue;
      const lib = m[1]!;
      const to = join(dir, lib);
      if (existsSync(to)) continue;
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(realpathSync(lib), to);
    }
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
