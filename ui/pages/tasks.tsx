// Tasks: the queue and recent runs with their state; cancel a queued or running one; a task's output, followed
// live while it runs (Server-Sent Events from /v1/tasks/{id}/logs/follow).
import { Fragment } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api } from "../api.ts";
import { Action, Badge, NotConfigured, Problem, useResource } from "../lib.tsx";

/** The page keeps the last this-many characters of each stream: a chatty task cannot fill the tab's memory. */
const MAX_OUTPUT = 256 * 1024;

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
  const [open, setOpen] = useState<string | undefined>();
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
              <Fragment key={t.id}>
              <tr data-task={t.id}>
                <td>{t.name}<div class="muted">{t.id}</div></td>
                <td><Badge value={t.state} /></td>
                <td>{t.priority}</td>
                <td><code>{[t.command, ...t.args].join(" ")}</code></td>
                <td>{new Date(t.createdAt).toLocaleTimeString()}</td>
                <td class="row">
                  <button type="button" aria-expanded={open === t.id} aria-controls={open === t.id ? `out-${t.id}` : undefined} aria-label={`Output of ${t.name} ${t.id}`} onClick={() => setOpen(open === t.id ? undefined : t.id)}>
                    Output
                  </button>
                  {(t.state === "queued" || t.state === "running" || t.state === "starting") && (
                    <Action role="operator" label={`Cancel ${t.name}`} title={`Cancel ${t.name}`} detail="A queued task is dropped; a running one is stopped." run={async () => {
                      await api(`/v1/tasks/${encodeURIComponent(t.id)}/cancel`, { method: "POST", body: {} });
                      list.reload();
                    }}>Cancel</Action>
                  )}
                </td>
              </tr>
              {open === t.id && <tr class="detail"><td colSpan={6}><Output id={t.id} name={t.name} /></td></tr>}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
      {list.data && list.data.total > list.data.tasks.length && <p class="muted">Showing {list.data.tasks.length} of {list.data.total} (newest first).</p>}
    </section>
  );
}

/** A task's stdout and stderr from the start, then live until it ends. */
function Output({ id, name }: { id: string; name: string }) {
  const [text, setText] = useState<{ stdout: string; stderr: string }>({ stdout: "", stderr: "" });
  const [state, setState] = useState<string>("following");
  useEffect(() => {
    const src = new EventSource(`/v1/tasks/${encodeURIComponent(id)}/logs/follow`);
    const acc = { stdout: "", stderr: "" };
    src.addEventListener("output", (m) => {
      let part: { stream: "stdout" | "stderr"; text: string };
      try {
        part = JSON.parse((m as MessageEvent<string>).data) as typeof part;
      } catch {
        return;
      }
      if (part.stream !== "stdout" && part.stream !== "stderr") return;
      const next = acc[part.stream] + part.text;
      acc[part.stream] = next.length > MAX_OUTPUT ? next.slice(-MAX_OUTPUT) : next;
      setText({ ...acc });
    });
    src.addEventListener("end", (m) => {
      // Closed by us: EventSource would otherwise reconnect and replay the output from the start.
      src.close();
      try {
        const e = JSON.parse((m as MessageEvent<string>).data) as { state: string; exitCode: number | null };
        setState(`${e.state}${e.exitCode !== null ? ` (exit ${e.exitCode})` : ""}`);
      } catch {
        setState("ended");
      }
    });
    src.onerror = () => {
      if (src.readyState === EventSource.CLOSED) return;
      src.close();
      setState("interrupted: close and open the output again");
    };
    return () => src.close();
  }, [id]);
  return (
    <div id={`out-${id}`} data-testid="task-output">
      <p class="row">
        <b>Output of {name}</b> <span data-testid="task-output-state"><Badge value={state.split(" ")[0]!} /> {state.includes(" ") ? state.slice(state.indexOf(" ") + 1) : ""}</span>
      </p>
      {(["stdout", "stderr"] as const).map((k) =>
        text[k] || k === "stdout" ? (
          <div key={k}>
            <div class="muted">{k}{text[k].length >= MAX_OUTPUT ? ` (the last ${MAX_OUTPUT / 1024} KiB)` : ""}</div>
            <pre class="out" role="log" aria-label={`${k} of ${name}`} data-stream={k}>{text[k] || (state === "following" ? "…" : "(nothing)")}</pre>
          </div>
        ) : null,
      )}
    </div>
  );
}
