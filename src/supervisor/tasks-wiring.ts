// Connects the task queue to the procs worker (its spawn path, by request) and to the config; re-adopts running
// tasks when the procs worker restarts.
import { createTaskService, type TaskService } from "../tasks/service.ts";
import { type Hub, notRunning } from "./hub.ts";

export function wireTasks(hub: Hub): TaskService & { close(): void } {
  const procs = () => hub.hosts.procs;
  const service = createTaskService({
    queue: () => hub.config().task_queue,
    definitions: () => hub.config().tasks,
    dataDir: () => hub.config().agent.data_dir,
    cores: hub.cores,
    store: hub.store,
    publish: hub.publish,
    log: hub.log,
    procs: {
      start: (task) => procs()?.request({ t: "procs.task-start", task }, 30_000) ?? notRunning("procs"),
      adopt: (tasks) => procs()?.request({ t: "procs.task-adopt", tasks }, 60_000) ?? notRunning("procs"),
      stop: (id, signal, graceMs) => procs()?.send({ t: "procs.task-stop", id, signal, graceMs }),
    },
  });
  const off = hub.events.subscribe((e) => {
    if (e.type === "worker.restarted" && e.target === "procs") service.readopt().catch((err) => hub.log.error("tasks not adopted after the procs worker restarted", { error: err }));
  });
  return Object.assign(service, { close: off });
}
