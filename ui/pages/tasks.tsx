// Tasks: the queue and recent runs with their state; cancel a queued or running one.
import { api } from "../api.ts";
import { Action, Badge, NotConfigured, Problem, useResource } from "../lib.tsx";

interface Task {
  id: string;
  name: string;
  state: string;
  command: string;
  args: string[];
  priority: string;
  createdAt: string;
  startedAt?: string;
}

export function Tasks() {
  const list = useResource<{ tasks: Task[]; total: number }>("/v1/tasks", 2000, ["task."]);
  return (
    <section aria-labelledby="h-tasks">
      <h1 id="h-tasks">Tasks</h1>
      {list.absent ? <NotConfigured what="The task queue" /> : <Problem error={list.error} />}
      {list.data && list.data.tasks.length === 0 && <p class="empty">No tasks queued or run.</p>}
      {list.data && list.data.tasks.length > 0 && (
        <table>
          <thead><tr><th scope="col">Task</th><th scope="col">State</th><th scope="col">Priority</th><th scope="col">Command</th><th scope="col">Created</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>
            {list.data.tasks.map((t) => (
              <tr key={t.id} data-task={t.id}>
                <td>{t.name}<div class="muted">{t.id}</div></td>
                <td><Badge value={t.state} /></td>
                <td>{t.priority}</td>
                <td><code>{[t.command, ...t.args].join(" ")}</code></td>
                <td>{new Date(t.createdAt).toLocaleTimeString()}</td>
                <td>
                  {(t.state === "queued" || t.state === "running" || t.state === "starting") && (
                    <Action role="operator" label={`Cancel ${t.name}`} title={`Cancel ${t.name}`} detail="A queued task is dropped; a running one is stopped." run={async () => {
                      await api(`/v1/tasks/${encodeURIComponent(t.id)}/cancel`, { method: "POST", body: {} });
                      list.reload();
                    }}>Cancel</Action>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list.data && list.data.total > list.data.tasks.length && <p class="muted">Showing {list.data.tasks.length} of {list.data.total} (newest first).</p>}
    </section>
  );
}
