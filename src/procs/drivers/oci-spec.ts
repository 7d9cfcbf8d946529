// The OCI runtime spec (config.json) of one replica, generated from its app: process, rootfs, mounts, isolation.
//
// Defaults a Nomad/podman user expects: host network (the replica's port is reachable as with exec), its own pid,
// ipc, uts and mount namespaces, a read-only rootfs, no new privileges, the runtime's minimal capability set
// plus cap_add, every device denied but the standard ones, and a seccomp deny list of syscalls a service has no
// use for (module loading, kexec, reboot, mount, ptrace, bpf, ...). Resource limits are not in the spec: the
// runtime runs inside the replica's cgroup (limits.ts), so one implementation enforces them for every driver.
import type { OciSpec } from "../../protocol/drivers.ts";

/** runc's and crun's own default set for a non-privileged container. */
export const DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SETGID", "CAP_SETUID"] as const;

/** Syscalls refused with EPERM by the default profile: host-wide effects or escapes, never a service's business. */
export const DENIED_SYSCALLS = [
  "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module", "finit_module",
  "init_module", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mount", "move_mount", "open_by_handle_at",
  "open_tree", "perf_event_open", "pivot_root", "process_vm_readv", "process_vm_writev", "ptrace", "quotactl",
  "reboot", "request_key", "setns", "settimeofday", "swapoff", "swapon", "syslog", "umount2", "unshare",
  "userfaultfd", "fsopen", "fsmount", "fsconfig",
] as const;

/** EPERM, as Docker's profile answers. */
const ERRNO_EPERM = 1;

export interface ProcessSpec {
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string | undefined;
  readonly hostname: string;
  /** The root filesystem directory (the app's rootfs, or its image's unpack in the cache). */
  readonly rootfs: string;
  /** A host tmpfs directory holding the secret files, mounted read-only at /run/secrets. */
  readonly secretsDir?: string;
  readonly nofile?: number;
  /** runc: the container's cgroup, relative to the runtime's own (the replica's). */
  readonly cgroupsPath: string | null;
}

export function ociConfig(oci: OciSpec, p: ProcessSpec): Record<string, unknown> {
  const caps = [...new Set([...DEFAULT_CAPS, ...oci.capAdd])];
  const mounts: Record<string, unknown>[] = [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"] },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    // Host network: the host's name resolution too (read-only).
    { destination: "/etc/resolv.conf", type: "bind", source: "/etc/resolv.conf", options: ["rbind", "ro", "nosuid", "nodev"] },
    { destination: "/etc/hosts", type: "bind", source: "/etc/hosts", options: ["rbind", "ro", "nosuid", "nodev"] },
    // A writable /tmp even on a read-only rootfs, bounded so it cannot fill the host's memory.
    { destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777", "size=65536k"] },
  ];
  if (p.secretsDir) mounts.push({ destination: "/run/secrets", type: "bind", source: p.secretsDir, options: ["rbind", "ro", "nosuid", "nodev", "noexec"] });
  for (const m of oci.mounts) {
    if (m.tmpfs) {
      const size = m.tmpfs.sizeBytes !== undefined ? [`size=${m.tmpfs.sizeBytes}`] : [];
      mounts.push({ destination: m.target, type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=755", ...size, ...(m.readOnly ? ["ro"] : [])] });
    } else {
      mounts.push({ destination: m.target, type: "bind", source: m.source, options: ["rbind", "nosuid", "nodev", m.readOnly ? "ro" : "rw"] });
    }
  }
  return {
    ociVersion: "1.0.2",
    root: { path: p.rootfs, readonly: oci.readOnlyRootfs },
    hostname: p.hostname,
    process: {
      terminal: false,
      user: { uid: oci.user?.uid ?? 0, gid: oci.user?.gid ?? 0 },
      args: p.args,
      env: Object.entries({ PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", ...p.env }).map(([k, v]) => `${k}=${v}`),
      cwd: p.cwd ?? "/",
      noNewPrivileges: true,
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
      ...(p.nofile !== undefined ? { rlimits: [{ type: "RLIMIT_NOFILE", hard: p.nofile, soft: p.nofile }] } : {}),
    },
    mounts,
    linux: {
      ...(p.cgroupsPath ? { cgroupsPath: p.cgroupsPath } : {}),
      resources: { devices: [{ allow: false, access: "rwm" }] },
      namespaces: [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }],
      maskedPaths: ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
      ...(oci.seccomp
        ? {
            seccomp: {
              defaultAction: "SCMP_ACT_ALLOW",
              architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
              syscalls: [{ names: DENIED_SYSCALLS, action: "SCMP_ACT_ERRNO", errnoRet: ERRNO_EPERM }],
            },
          }
        : {}),
    },
  };
}
