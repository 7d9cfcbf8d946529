// The exit status of a process that is not our child (a task adopted after an agent restart): waitpid() is for its
// parent only, so it is read where Linux keeps it for others.
//
// - While the process is a zombie (exited, not yet reaped: its parent is a PID 1 that does not reap, or is slow),
//   /proc/PID/stat field 52 holds its wait status (Linux 3.5+, readable with ptrace read access: root, or the same
//   user).
// - Once it is reaped, a pidfd opened while it still existed answers PIDFD_GET_INFO with PIDFD_INFO_EXIT (Linux 6.15+):
//   the kernel keeps the exit status with the pidfd for whoever holds one.
//
// Neither: the status is unknown (an older kernel, and the process reaped between two looks), and the caller says so.
// The pidfd also pins the process's identity: a pid reused by another process after the exit is never mistaken for
// it. pidfd_open and ioctl are called through bun:ffi on the C library; where it cannot be loaded, only the zombie
// path is used.
import { constants } from "node:os";
import { readFileSync } from "node:fs";

export type ExitLook =
  | { readonly state: "running" }
  | { readonly state: "exited"; readonly code: number | null; readonly signal: string | null }
  | { readonly state: "unknown" };

/** A process followed for its exit: its pid, /proc start time and, where the kernel has them, a pidfd. */
export interface ExitWatch {
  readonly pid: number;
  readonly startTime: number;
  /** -1 without one. */
  fd: number;
}

interface Libc {
  pidfd_open(pid: number, flags: number): number;
  ioctl(fd: number, req: bigint, arg: unknown): number;
  close(fd: number): number;
  ptr(buf: BigUint64Array): unknown;
}

/** _IOWR(PIDFS_IOCTL_MAGIC 0xFF, 11, struct pidfd_info), the 64-byte first version of the struct. */
const PIDFD_GET_INFO = 0xc040ff0bn;
const PIDFD_INFO_EXIT = 1n << 3n;
/** Offset of `exit_code` in struct pidfd_info (after mask, cgroupid and eleven u32 ids). */
const EXIT_CODE_OFFSET = 60;

let libc: Libc | null | undefined;
function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (process.platform !== "linux") return libc;
  try {
    // Loaded lazily: most agents never adopt a task, and a host without a glibc (musl) keeps the zombie path.
    const ffi = require("bun:ffi") as typeof import("bun:ffi");
    const { FFIType } = ffi;
    const lib = ffi.dlopen("libc.so.6", {
      pidfd_open: { args: [FFIType.i32, FFIType.u32], returns: FFIType.i32 },
      ioctl: { args: [FFIType.i32, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
      close: { args: [FFIType.i32], returns: FFIType.i32 },
    });
    const s = lib.symbols;
    libc = {
      pidfd_open: (pid, flags) => s.pidfd_open(pid, flags),
      ioctl: (fd, req, arg) => s.ioctl(fd, req, arg as never),
      close: (fd) => s.close(fd),
      ptr: (buf) => ffi.ptr(buf),
    };
  } catch {
    libc = null;
  }
  return libc;
}

/** State (field 3), start time (22) and exit code (52) from /proc/PID/stat; null when there is no such process. */
function statOf(pid: number): { state: string; startTime: number; exitCode: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // After ")": [0] is field 3, so field N is [N - 3].
  return { state: f[0] ?? "?", startTime: Number(f[19]), exitCode: Number(f[49]) };
}

const SIGNAL_NAMES = new Map<number, string>(Object.entries(constants.signals).map(([name, n]) => [n, name]));

/** A waitpid() status as exit code or signal name. */
export function decodeWaitStatus(status: number): { code: number | null; signal: string | null } {
  const sig = status & 0x7f;
  if (sig === 0) return { code: (status >> 8) & 0xff, signal: null };
  return { code: null, signal: SIGNAL_NAMES.get(sig) ?? `SIG${sig}` };
}

/**
 * Starts following a process that is not our child. Null when it is not running as that process (gone, or its pid
 * now names another one). The pidfd is opened first and the identity checked after, so it cannot name a newcomer.
 */
export function watchExit(pid: number, startTime: number): ExitWatch | null {
  const lib = loadLibc();
  let fd = -1;
  if (lib) {
    try {
      fd = lib.pidfd_open(pid, 0);
    } catch {
      fd = -1;
    }
  }
  const st = statOf(pid);
  if (!st || st.startTime !== startTime) {
    if (fd >= 0) lib!.close(fd);
    return null;
  }
  return { pid, startTime, fd };
}

/** Whether the process has ended, and how. Once it says exited or unknown, the watch is closed. */
export function lookExit(w: ExitWatch): ExitLook {
  const st = statOf(w.pid);
  if (st && st.startTime === w.startTime) {
    if (st.state !== "Z" && st.state !== "X") return { state: "running" };
    close(w);
    return { state: "exited", ...decodeWaitStatus(st.exitCode) };
  }
  // Reaped (or its pid taken by another process): the pidfd knows how it ended.
  const look = w.fd >= 0 ? pidfdExit(w.fd) : null;
  close(w);
  return look ?? { state: "unknown" };
}

function pidfdExit(fd: number): ExitLook | null {
  const lib = loadLibc();
  if (!lib) return null;
  const buf = new BigUint64Array(8);
  buf[0] = PIDFD_INFO_EXIT;
  if (lib.ioctl(fd, PIDFD_GET_INFO, lib.ptr(buf)) !== 0 || (buf[0]! & PIDFD_INFO_EXIT) === 0n) return null;
  return { state: "exited", ...decodeWaitStatus(new DataView(buf.buffer).getInt32(EXIT_CODE_OFFSET, true)) };
}

/** Releases the pidfd (idempotent). */
export function close(w: ExitWatch): void {
  if (w.fd < 0) return;
  loadLibc()?.close(w.fd);
  w.fd = -1;
}
