// Policies: every installed policy with its mode, last evaluation, what fires and its last actions; the audit of
// every firing; and a dry-run test of one policy against the live state (no action taken).
import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { Badge, fmtTime, NotConfigured, Problem, useResource } from "../lib.tsx";

interface Condition {
  path: string;
  holds: boolean;
  value?: unknown;
  error?: string;
}
interface AuditRecord {
  id: number;
  at: string;
  policy: string;
  rule: string;
  target: string;
  firing: number;
  mode: string;
  conditions: Condition[];
  actions: Array<{ type: string; outcome: string; detail?: string }>;
}
interface PolicyStatus {
  policy: { namespace: string; name: string; source: string; priority: number; mode: string; selector: { kinds: string[]; matchLabels: Record<string, string> }; rules: Array<{ name: string; actions: Array<{ type: string }> }> };
  lastEvaluation?: string;
  firing: number;
  lastActions: AuditRecord[];
}
interface WhatIf {
  results: Array<{ policy: string; rule: string; target: string; mode: string; conditions: Condition[]; actions: Array<{ type: string; disposition: string; overriddenBy?: string }> }>;
}

const show = (v: unknown) => (v === undefined ? "" : typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : JSON.stringify(v));

export function Policies() {
  const list = useResource<{ policies: PolicyStatus[] }>("/v1/policies", 2000, ["policy."]);
  const audit = useResource<{ records: AuditRecord[] }>("/v1/policies/audit?limit=50", 2000, ["policy."]);
  const absent = list.absent || list.error?.message.includes("not configured");
  return (
    <section aria-labelledby="h-policies">
      <h1 id="h-policies">Policies</h1>
      {absent || (list.data && list.data.policies.length === 0) ? <NotConfigured what="A policy" /> : <Problem error={list.error} />}
      {list.data && list.data.policies.length > 0 && (
        <table>
          <caption class="sr-only">Installed policies</caption>
          <thead>
            <tr><th scope="col">Policy</th><th scope="col">Mode</th><th scope="col">Selects</th><th scope="col">Rules</th><th scope="col">Firing</th><th scope="col">Last evaluation</th><th scope="col">Last firing</th><th scope="col"><span class="sr-only">Test</span></th></tr>
          </thead>
          <tbody>
            {list.data.policies.map((p) => <PolicyRow key={`${p.policy.namespace}/${p.policy.name}`} p={p} />)}
          </tbody>
        </table>
      )}
      <h2>Audit</h2>
      <p class="muted">Every firing, newest first: the condition values it saw and what each action did.</p>
      <Problem error={absent ? undefined : audit.error} />
      {audit.data && audit.data.records.length === 0 && <p class="empty">Nothing has fired yet.</p>}
      {audit.data && audit.data.records.length > 0 && (
        <table data-testid="policy-audit">
          <caption class="sr-only">Policy audit</caption>
          <thead>
            <tr><th scope="col">Time</th><th scope="col">Policy / rule</th><th scope="col">Target</th><th scope="col">Conditions</th><th scope="col">Actions</th></tr>
          </thead>
          <tbody>
            {audit.data.records.map((r) => (
              <tr key={r.id}>
                <td>{fmtTime(Date.parse(r.at))}</td>
                <td>{r.policy} / {r.rule} <span class="muted">#{r.firing}</span>{r.mode === "dry_run" && <> <Badge value="dry_run" /></>}</td>
                <td>{r.target}</td>
                <td><Conditions list={r.conditions} /></td>
                <td>{r.actions.map((a, i) => <div key={i}><code>{a.type}</code> <Badge value={a.outcome} />{a.detail ? <span class="muted"> {a.detail}</span> : null}</div>)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Conditions({ list }: { list: Condition[] }) {
  return (
    <>
      {list.map((c, i) => (
        <div key={i}>
          <Badge value={c.error ? "error" : c.holds ? "holds" : "false"} /> <code>{c.path}</code> {c.error ? <span class="problem">{c.error}</span> : <span class="muted">{show(c.value)}</span>}
        </div>
      ))}
    </>
  );
}

function PolicyRow({ p }: { p: PolicyStatus }) {
  const key = `${p.policy.namespace}/${p.policy.name}`;
  const [test, setTest] = useState<WhatIf | Error | undefined>();
  const [busy, setBusy] = useState(false);
  const last = p.lastActions[0];
  const run = async () => {
    setBusy(true);
    try {
      setTest(await api<WhatIf>(`/v1/policies/${encodeURIComponent(p.policy.namespace)}/${encodeURIComponent(p.policy.name)}/evaluate`, { method: "POST", body: {} }));
    } catch (e) {
      setTest(e as Error);
    } finally {
      setBusy(false);
    }
  };
  const sel = [p.policy.selector.kinds.join(", ") || "everything", ...Object.entries(p.policy.selector.matchLabels).map(([k, v]) => `${k}=${v}`)].join(" · ");
  return (
    <>
      <tr data-policy={key}>
        <td>{key}<div class="muted">{p.policy.source} · priority {p.policy.priority}</div></td>
        <td><Badge value={p.policy.mode} /></td>
        <td>{sel}</td>
        <td>{p.policy.rules.map((r) => <div key={r.name}>{r.name} <span class="muted">→ {r.actions.map((a) => a.type).join(", ")}</span></div>)}</td>
        <td data-testid="policy-firing">{p.firing > 0 ? <Badge value="firing" /> : null} {p.firing}</td>
        <td>{p.lastEvaluation ? fmtTime(Date.parse(p.lastEvaluation)) : "–"}</td>
        <td>{last ? `${fmtTime(Date.parse(last.at))} ${last.rule} on ${last.target}` : "never"}</td>
        <td>
          <button type="button" disabled={busy} aria-label={`Test ${key} now (dry run)`} title="Evaluates the policy against the live state; no action is taken" onClick={run}>
            Test
          </button>
        </td>
      </tr>
      {test && (
        <tr class="detail">
          <td colSpan={8} data-testid="policy-test">
            {test instanceof Error ? (
              <p class="problem" role="alert">{test.message}</p>
            ) : test.results.length === 0 ? (
              <p class="empty">No rule of {key} holds on any target right now.</p>
            ) : (
              <table>
                <caption>What {key} would do now (dry run)</caption>
                <thead><tr><th scope="col">Rule</th><th scope="col">Target</th><th scope="col">Conditions</th><th scope="col">Actions</th></tr></thead>
                <tbody>
                  {test.results.map((r, i) => (
                    <tr key={i}>
                      <td>{r.rule}</td>
                      <td>{r.target}</td>
                      <td><Conditions list={r.conditions} /></td>
                      <td>{r.actions.map((a, j) => <div key={j}><code>{a.type}</code> <Badge value={a.disposition} />{a.overriddenBy ? <span class="muted"> by {a.overriddenBy}</span> : null}</div>)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <button type="button" onClick={() => setTest(undefined)}>Close</button>
          </td>
        </tr>
      )}
    </>
  );
}
