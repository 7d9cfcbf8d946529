// The `tasks:` list (tasks declared in config: run by name through the API, or on a cron schedule) and the
// `task_queue:` section (limits of the durable task queue). Mapped to queue specs in src/config/tasks.ts.
import { Effect, Schema } from "effect";
import { parseCron } from "../core/tasks/cron.ts";
import { ByteSize, Duration } from "./units.ts";

const def = <S extends Schema.Top>(schema: S, value: S["Encoded"]) => Schema.withDecodingDefaultKey<S>(Effect.succeed(value))(schema);
const Name = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, { message: "Expected a name of letters, digits, '.', '_' or '-' (1-63 characters, starting with a letter or digit)" }),
);
const NonEmpty = Schema.String.check(Schema.isMinLength(1, { message: "Expected a non-empty string" }));
export const TaskPriority = Schema.Literals(["low", "medium", "high", "critical"]);
const Regex = Schema.String.check(
  Schema.makeFilter((s: string) => {
    try {
      new RegExp(s);
      return undefined;
    } catch (e) {
      return `invalid regular expression: ${(e as Error).message}`;
    }
  }),
);

export const TaskRetries = Schema.Struct({
  max: def(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 100 })), 0),
  backoff: def(Duration, "1s"),
  max_backoff: def(Duration, "5m"),
});

export const TaskDefinition = Schema.Struct({
  name: Name,
  command: NonEmpty,
  /** `{{param}}` in args and env values is replaced by the run's parameter. */
  args: def(Schema.Array(Schema.String), []),
  env: def(Schema.Record(Schema.String, Schema.String), {}),
  cwd: Schema.optionalKey(NonEmpty),
  priority: def(TaskPriority, "medium"),
  /** 0: no timeout. */
  timeout: def(Duration, 0),
  retries: def(TaskRetries, {}),
  concurrency_key: Schema.optionalKey(Name),
  concurrency_limit: def(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10_000 })), 1),
  kill_timeout: def(Duration, "10s"),
  /** Cron: five fields or @hourly/@daily/@weekly/@monthly/@yearly. */
  schedule: Schema.optionalKey(
    Schema.String.check(
      Schema.makeFilter((s: string) => {
        try {
          parseCron(s);
          return undefined;
        } catch (e) {
          return (e as Error).message;
        }
      }),
    ),
  ),
  time_zone: def(
    Schema.String.check(
      Schema.makeFilter((tz: string) => {
        try {
          new Intl.DateTimeFormat("en-US", { timeZone: tz });
          return undefined;
        } catch {
          return `unknown time zone "${tz}"; expected an IANA name such as Europe/Paris or UTC`;
        }
      }),
    ),
    "UTC",
  ),
  /** When a scheduled run is due while the previous one is queued or running: skip it, queue it, or replace (cancel) the old one. */
  overlap: def(Schema.Literals(["skip", "queue", "replace"]), "skip"),
  /** Parameters the API may pass when it executes this task: each value must match its pattern. */
  params: def(Schema.Record(Schema.String, Schema.Struct({ pattern: Regex, default: Schema.optionalKey(Schema.String) })), {}),
  output_limit: Schema.optionalKey(ByteSize),
});

export const TaskQueue = Schema.Struct({
  /** Tasks running at once, at most ("auto": one per core). */
  max_concurrent: def(Schema.Union([Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10_000 })), Schema.Literal("auto")]), "auto"),
  /** A task waiting this long counts one priority higher (low priority cannot starve). */
  aging: def(Duration, "5m"),
  /** Finished tasks kept (API and store). */
  keep_finished: def(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1_000_000 })), 10_000),
  /** Output kept per stream of a task (the first bytes; the rest is counted). */
  output_limit: def(ByteSize, "1MiB"),
  /** Queued tasks at most; beyond it POST /v1/tasks answers 503. */
  max_queued: def(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1_000_000 })), 100_000),
});

export type TaskDefinitionConfig = typeof TaskDefinition.Type;
export type TaskQueueConfig = typeof TaskQueue.Type;
