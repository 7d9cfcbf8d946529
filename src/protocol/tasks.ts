// Messages between the supervisor's task queue and the procs worker, which runs each task through its spawn path
// (process group, output files). Joined into the procs unions in procs.ts.
export interface OutputInfo {
  readonly stdoutBytes: number;
  readonly stderrBytes: number;
  readonly stdoutCaptured: number;
  readonly stderrCaptured: number;
}

export interface TaskRunSpec {
  readonly id: string;
  readonly attempt: number;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** `<dir>/task-<id>.stdout.log` and `.stderr.log`; also the owner mark in the task's environment. */
  readonly outputDir: string;
  /** Bytes kept per stream (the first ones); the rest is counted, not kept. */
  readonly outputLimit: number;
}

export interface TaskRef {
  readonly id: string;
  readonly attempt: number;
  readonly outputDir: string;
  readonly outputLimit: number;
  /** Known for a task that was running; absent for one that was starting (looked for by its environment). */
  readonly pid?: number;
  readonly startTime?: number;
}

export type TaskStartReply = { readonly ok: true; readonly pid: number; readonly startTime: number | null } | { readonly ok: false; readonly stage: "output" | "spawn"; readonly message: string };

export type ToProcsTasks = { readonly t: "procs.task-stop"; readonly id: string; readonly signal: NodeJS.Signals; readonly graceMs: number };

export type ProcsTaskRequests = {
  readonly "procs.task-start": { readonly body: { readonly task: TaskRunSpec }; readonly reply: TaskStartReply };
  /** After an agent or worker restart: follow the tasks whose process still runs; say which are gone. */
  readonly "procs.task-adopt": {
    readonly body: { readonly tasks: readonly TaskRef[] };
    readonly reply: { readonly adopted: ReadonlyArray<{ readonly id: string; readonly pid: number; readonly startTime: number }>; readonly gone: readonly string[] };
  };
};

export type FromProcsTasks = {
  readonly t: "procs.task-exit";
  readonly id: string;
  readonly attempt: number;
  /** null with an adopted task: it was not our child, its exit status cannot be read. */
  readonly code: number | null;
  readonly signal: string | null;
  readonly adopted: boolean;
  readonly output: OutputInfo;
};
