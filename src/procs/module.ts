// The procs worker's message handling: a ProcessManager driven by supervisor messages (wired by workers/procs.ts).
import type { FromProcs, ProcsRequests, ReplicaSnapshot, ToProcs } from "../protocol/procs.ts";
import type { ModulePort, WorkerModule } from "../runtime/worker.ts";
import { ProcessManager } from "./process-manager.ts";
import { createTaskRunner, type TaskRunner } from "./task-runner.ts";

export function createProcsModule(): WorkerModule<ToProcs, FromProcs, ProcsRequests> {
  let port: ModulePort<ToProcs, FromProcs, ProcsRequests>;
  let manager: ProcessManager;
  let tasks: TaskRunner;
  const following = new Map<string, () => void>();
  /** Hooks waiting for the supervisor's answer; the manager bounds each by its app's drain bound (spec.ts). */
  const hooks = new Map<number, { resolve(): void; reject(e: Error): void }>();
  let nextHook = 1;

  const askSupervisor = (kind: "drain" | "ready", replica: ReplicaSnapshot) =>
    new Promise<void>((resolve, reject) => {
      const hook = nextHook++;
      hooks.set(hook, { resolve, reject });
      port.send({ t: "procs.hook", hook, kind, replica });
    });

  return {
    async start(state, p) {
      port = p;
      tasks = createTaskRunner((m) => port.send(m));
      manager = new ProcessManager({
        onEvent: (event) => port.send({ t: "procs.event", event }),
        onStats: (batch) => port.queue({ t: "procs.stats", batch }),
        beforeStop: (replica) => askSupervisor("drain", replica),
      });
      const init = state;
      if (init.adopt.length > 0) manager.adopt(init.adopt);
      // Apply in the background: readiness of every replica can take up to its timeout, and the worker
      // must say ready (and answer messages) long before that.
      void manager.apply(init.apps);
    },
    reinit(state) {
      void manager.apply(state.apps);
    },
    requests: {
      "procs.scale": async (msg) => {
        await manager.scale(msg.app, msg.replicas);
        return { app: msg.app, replicas: msg.replicas };
      },
      "procs.restart-replica": async (msg) => {
        await manager.restartReplica(msg.app, msg.replica);
        return { app: msg.app, replica: msg.replica };
      },
      "procs.rolling-restart": (msg) =>
        manager.rollingRestart(msg.app, {
          onReady: (r) => askSupervisor("ready", r),
          drain: (r) => askSupervisor("drain", r),
        }),
      "procs.replace": (msg) =>
        manager.replace(msg.app, msg.replica, {
          onReady: (r) => askSupervisor("ready", r),
          drain: (r) => askSupervisor("drain", r),
        }),
      "procs.launch": async (msg) => ({ app: msg.app, replica: await manager.launch(msg.app, msg.spec) }),
      "procs.retire": async (msg) => ({ app: msg.app, replica: msg.replica, retired: await manager.retire(msg.app, msg.replica) }),
      "procs.reset": async (msg) => {
        await manager.resetCrashLoop(msg.app);
        return { app: msg.app };
      },
      "procs.logs": (msg) => manager.logs(msg.app, msg.replica, msg.tail),
      "procs.snapshot": () => manager.snapshot(),
      "procs.release": () => ({ released: manager.release() }),
      "procs.task-start": (msg) => tasks.start(msg.task),
      "procs.task-adopt": (msg) => tasks.adopt(msg.tasks),
    },
    handle(msg) {
      switch (msg.t) {
        case "procs.apply":
          void manager.apply(msg.apps);
          return;
        case "procs.follow": {
          following.get(msg.app)?.();
          following.delete(msg.app);
          if (msg.on) following.set(msg.app, manager.followLogs(msg.app, (line) => port.queue({ t: "procs.log", line })));
          return;
        }
        case "procs.task-stop":
          tasks.stop(msg.id, msg.signal, msg.graceMs);
          return;
        case "procs.hook-done": {
          const h = hooks.get(msg.hook);
          if (!h) return;
          hooks.delete(msg.hook);
          if (msg.error) h.reject(new Error(msg.error));
          else h.resolve();
          return;
        }
      }
    },
    async stop() {
      for (const h of hooks.values()) h.resolve();
      hooks.clear();
      // Tasks are not stopped with the agent: they run to their end and a restarted agent adopts them.
      tasks?.close();
      await manager?.stopAll();
    },
  };
}
