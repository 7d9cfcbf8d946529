// /v1/policies: the installed policies (files and API) with their status, create/replace/delete through the API,
// whole-document validation with paths, what-if evaluation against the live state (no action), and the audit trail.
import { Schema } from "effect";
import { Hono } from "hono";
import type { Firing } from "../core/policy/engine.ts";
import type { Policy } from "../core/policy/types.ts";
import type { PolicyFileProblem } from "../policy/loader.ts";
import type { PolicyRunner, PolicyStatus } from "../policy/runner.ts";
import type { AuditRecord } from "../state/policy-store.ts";
import { StoreError } from "../state/store-fault.ts";
import { ApiError } from "./errors.ts";
import { defineRoute, param, QueryInt } from "./route.ts";

const Problem = Schema.Struct({ file: Schema.String, path: Schema.String, message: Schema.String });
const ActionView = Schema.Struct({ type: Schema.String, params: Schema.Record(Schema.String, Schema.Unknown) });
const RuleView = Schema.Struct({ name: Schema.String, forMs: Schema.Number, cooldownMs: Schema.Number, actions: Schema.Array(ActionView) });
const PolicyView = Schema.Struct({
  namespace: Schema.String,
  name: Schema.String,
  source: Schema.String.annotate({ description: "the file it was loaded from, or api" }),
  labels: Schema.Record(Schema.String, Schema.String),
  selector: Schema.Struct({ kinds: Schema.Array(Schema.String), matchLabels: Schema.Record(Schema.String, Schema.String) }),
  priority: Schema.Number,
  mode: Schema.Literals(["enforce", "dry_run"]),
  rules: Schema.Array(RuleView),
  document: Schema.Unknown.annotate({ description: "the document as written" }),
});
const AuditView = Schema.Struct({
  id: Schema.Number,
  at: Schema.String,
  policy: Schema.String,
  rule: Schema.String,
  target: Schema.String,
  firing: Schema.Number.annotate({ description: "the firing's number for this rule and target: actions are done once per firing" }),
  mode: Schema.Literals(["enforce", "dry_run"]),
  conditions: Schema.Array(Schema.Struct({ path: Schema.String, holds: Schema.Boolean, value: Schema.optionalKey(Schema.Unknown), error: Schema.optionalKey(Schema.String) })),
  actions: Schema.Array(Schema.Struct({ type: Schema.String, params: Schema.Record(Schema.String, Schema.Unknown), outcome: Schema.String, detail: Schema.optionalKey(Schema.String) })),
});
const StatusView = Schema.Struct({
  policy: PolicyView,
  lastEvaluation: Schema.optionalKey(Schema.String),
  firing: Schema.Number.annotate({ description: "rule-target pairs firing at the last evaluation" }),
  lastActions: Schema.Array(AuditView),
});
const WhatIf = Schema.Struct({
  policy: Schema.String,
  rule: Schema.String,
  target: Schema.String,
  mode: Schema.Literals(["enforce", "dry_run"]),
  conditions: Schema.Array(Schema.Struct({ path: Schema.String, holds: Schema.Boolean, value: Schema.optionalKey(Schema.Unknown), error: Schema.optionalKey(Schema.String) })),
  actions: Schema.Array(Schema.Struct({ type: Schema.String, disposition: Schema.String, overriddenBy: Schema.optionalKey(Schema.String) })),
});
const Documents = Schema.Struct({
  documents: Schema.Array(Schema.Unknown).check(Schema.isMinLength(1), Schema.isMaxLength(1000)).annotate({ description: "policy documents (decoded YAML or JSON)" }),
});
const AuditQuery = Schema.Struct({
  policy: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(200))),
  target: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(200))),
  since: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^\d{4}-\d\d-\d\dT/, { message: "Expected an ISO 8601 time" }))),
  limit: Schema.optionalKey(QueryInt(1, 10_000)),
});

export interface PolicyRouteDeps {
  readonly runner: PolicyRunner;
  /** The policy directory as it is on disk now, validated as one set. */
  validateFiles(): { ok: true; files: string[] } | { ok: false; problems: PolicyFileProblem[]; message: string };
}

const paramsOf = (a: object) => {
  const { type: _t, ...rest } = a as Record<string, unknown>;
  return rest;
};

export function policyView(p: Policy) {
  return {
    namespace: p.namespace,
    name: p.name,
    source: p.source,
    labels: { ...p.labels },
    selector: { kinds: [...p.selector.kinds], matchLabels: { ...p.selector.matchLabels } },
    priority: p.priority,
    mode: p.mode,
    rules: p.rules.map((r) => ({ name: r.name, forMs: r.forMs, cooldownMs: r.cooldownMs, actions: r.actions.map((a) => ({ type: a.type, params: paramsOf(a) })) })),
    document: p.document,
  };
}

export function auditView(r: AuditRecord) {
  const { ts, ...rest } = r;
  return { ...rest, at: new Date(ts).toISOString(), conditions: [...r.conditions], actions: [...r.actions] };
}

const statusView = (s: PolicyStatus) => ({
  policy: policyView(s.policy),
  ...(s.lastEvaluation !== undefined ? { lastEvaluation: new Date(s.lastEvaluation).toISOString() } : {}),
  firing: s.firing,
  lastActions: s.lastActions.map(auditView),
});

const whatIfView = (f: Firing) => ({
  policy: f.policy,
  rule: f.rule,
  target: f.target,
  mode: f.mode,
  conditions: f.leaves.map((l) => ({ path: l.path, holds: l.holds, ...(l.value !== undefined ? { value: l.value } : {}), ...(l.error ? { error: l.error } : {}) })),
  actions: f.actions.map((a) => ({ type: a.action.type, disposition: a.disposition === "execute" ? "would_execute" : a.disposition, ...(a.overriddenBy ? { overriddenBy: a.overriddenBy } : {}) })),
});

const refused = (status: 400 | 409, message: string, problems: readonly PolicyFileProblem[]) => new ApiError(status, status === 400 ? "invalid_policy" : "conflict", message, { problems });

export function policyRoutes(deps: PolicyRouteDeps): Hono {
  const app = new Hono();
  const P = "/policies";
  const { runner } = deps;
  const guarded = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof StoreError) throw new ApiError(503, "store_unavailable", e.message);
      throw e;
    }
  };

  defineRoute(app, P, { method: "get", path: "/", summary: "Every installed policy (files and API) with its last evaluation, firing rules and last actions", response: Schema.Struct({ policies: Schema.Array(StatusView) }) }, () => ({
    policies: runner.list().map(statusView),
  }));
  defineRoute(app, P, { method: "get", path: "/audit", summary: "Every firing: inputs, condition values, actions and their outcomes (newest first; persisted, bounded)", query: AuditQuery, response: Schema.Struct({ records: Schema.Array(AuditView) }) }, (_c, { query }) => {
    const since = query.since !== undefined ? Date.parse(query.since) : undefined;
    if (since !== undefined && Number.isNaN(since)) throw new ApiError(400, "invalid_request", `invalid query: since: not a time: ${query.since}`);
    return { records: runner.audit({ ...(query.policy ? { policy: query.policy } : {}), ...(query.target ? { target: query.target } : {}), ...(since !== undefined ? { since } : {}), limit: query.limit ?? 100 }).map(auditView) };
  });
  defineRoute(app, P, { method: "post", path: "/validate", summary: "Validate policy documents as one set (every problem with its path); nothing is installed", body: Documents, response: Schema.Struct({ valid: Schema.Boolean, problems: Schema.Array(Problem), policies: Schema.Array(PolicyView) }), role: "read" }, (_c, { body }) => {
    const v = runner.validate(body.documents);
    return { valid: v.problems.length === 0, problems: v.problems, policies: v.problems.length === 0 ? v.policies.map(policyView) : [] };
  });
  defineRoute(app, P, { method: "post", path: "/evaluate", summary: "What-if for policy documents against the live state: which rules hold on which targets and why; no action is taken", body: Documents, response: Schema.Struct({ results: Schema.Array(WhatIf) }), role: "read", errors: [503] }, async (_c, { body }) => {
    const v = runner.validate(body.documents);
    if (v.problems.length > 0) throw refused(400, `invalid policy: ${v.problems[0]!.path}: ${v.problems[0]!.message}`, v.problems);
    return { results: (await runner.evaluate(v.policies).catch(unavailable)).map(whatIfView) };
  });
  defineRoute(app, P, { method: "get", path: "/files", summary: "Validate the policy directory as it is on disk now (what a reload would install)", response: Schema.Struct({ valid: Schema.Boolean, files: Schema.Array(Schema.String), problems: Schema.Array(Problem) }) }, () => {
    const r = deps.validateFiles();
    return r.ok ? { valid: true, files: r.files, problems: [] } : { valid: false, files: [], problems: r.problems };
  });
  defineRoute(app, P, { method: "get", path: "/:namespace/:name", summary: "One policy with its status", response: StatusView }, (c) => {
    const s = runner.get(param(c, "namespace"), param(c, "name"));
    if (!s) throw new ApiError(404, "not_found", `no policy ${param(c, "namespace")}/${param(c, "name")}`);
    return statusView(s);
  });
  defineRoute(app, P, { method: "put", path: "/:namespace/:name", summary: "Create or replace a policy (validated whole; a policy from a file cannot be replaced here)", body: Schema.Record(Schema.String, Schema.Unknown), response: PolicyView, errors: [409, 503] }, (c, { body }) => {
    const r = guarded(() => runner.put(param(c, "namespace"), param(c, "name"), body));
    if (!r.ok) throw refused(r.status, r.message, r.problems);
    return c.json(policyView(r.policy), r.created ? 201 : 200);
  });
  defineRoute(app, P, { method: "delete", path: "/:namespace/:name", summary: "Delete a policy created through the API", response: Schema.Struct({ deleted: Schema.String }), errors: [409, 503] }, (c) => {
    const k = `${param(c, "namespace")}/${param(c, "name")}`;
    const r = guarded(() => runner.remove(param(c, "namespace"), param(c, "name")));
    if (r === "not_found") throw new ApiError(404, "not_found", `no policy ${k}`);
    if (r === "from_file") throw new ApiError(409, "conflict", `policy ${k} comes from a policy file; remove it there and reload`);
    return { deleted: k };
  });
  defineRoute(app, P, { method: "post", path: "/:namespace/:name/evaluate", summary: "What-if for an installed policy against the live state: which rules would fire on which targets and why; no action is taken", response: Schema.Struct({ results: Schema.Array(WhatIf) }), role: "read", errors: [503] }, async (c) => {
    const s = runner.get(param(c, "namespace"), param(c, "name"));
    if (!s) throw new ApiError(404, "not_found", `no policy ${param(c, "namespace")}/${param(c, "name")}`);
    return { results: (await runner.evaluate([s.policy]).catch(unavailable)).map(whatIfView) };
  });
  return app;
}

function unavailable(e: unknown): never {
  throw new ApiError(503, "unavailable", `cannot read the live state: ${(e as Error).message ?? String(e)}`);
}
