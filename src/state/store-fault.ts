// The state store's faults as tagged values: what a caller (API, supervisor) can act on, never matched by message.
//
//   corrupt:    the file is not a database (refused at open; `--recover` moves it aside)
//   unreadable: it cannot be opened for another reason (permissions, a directory in its place)
//   full:       a write failed for lack of space (the write is refused; the next one tries again)
//   gone:       the file was deleted under the running agent (writes are refused: they would be lost)
//   replaced:   another file is at its path now (writes are refused: they would go to the old one)

export type StoreFaultReason = "corrupt" | "unreadable" | "full" | "gone" | "replaced";

export interface StoreFault {
  readonly reason: StoreFaultReason;
  readonly path: string;
  readonly message: string;
}

export class StoreError extends Error {
  readonly _tag = "StoreError";
  constructor(
    readonly reason: StoreFaultReason,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** Maps a bun:sqlite error (or a file-system error below it) to the fault it means, by its code. */
export function classifySqliteError(e: unknown): "corrupt" | "full" | null {
  const code = (e as { code?: unknown })?.code;
  if (code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT") return "corrupt";
  if (code === "SQLITE_FULL" || code === "ENOSPC" || code === "EFBIG") return "full";
  // Extended codes (SQLITE_IOERR_WRITE ...) carry the OS errno in their message only; a full disk under the WAL
  // shows up as SQLITE_FULL in practice, so the rest is left to the caller as an unknown failure.
  return null;
}
