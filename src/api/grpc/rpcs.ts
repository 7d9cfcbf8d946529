// The gRPC services of the admin API, derived from the REST routes: one service per resource, one RPC per route,
// request = path parameters + query parameters + body fields, response = the route's JSON answer.
// A route that streams Server-Sent Events becomes a server-streaming RPC.
import { addField, type Msg, mergeObjects, messageOf, nameFields, numberFields, typeOf } from "./shape.ts";

type Json = Record<string, unknown>;

export interface Rpc {
  readonly service: string;
  readonly name: string;
  /** REST method (upper case) and OpenAPI path (/v1/apps/{name}). */
  readonly method: string;
  readonly path: string;
  readonly role: string;
  readonly summary: string;
  readonly request: Msg;
  readonly response: Msg;
  readonly pathParams: readonly string[];
  readonly queryParams: readonly string[];
  /** Body fields sit in the request itself ("flat"), under a `body` field ("field"), or there is no body. */
  readonly body: "flat" | "field" | undefined;
  /** Server streaming over the route's SSE: each event's data is `item`; events named in `notices` go to `notice`. */
  readonly stream?: { readonly item: string; readonly notices: readonly string[] };
}

export interface Service {
  readonly name: string;
  /** File under proto/polis/v1/ (without .proto). */
  readonly file: string;
  readonly rpcs: Rpc[];
}

export const PACKAGE = "polis.v1";

/** REST tag (first segment after /v1) -> service. Small resources share the service of the one they belong to. */
const SERVICE_OF_TAG: Record<string, string> = {
  agent: "Agent", apps: "Apps", balancers: "Balancers", checks: "Checks", health: "Checks", config: "Config", reload: "Config",
  events: "Events", metrics: "Scaling", scaling: "Scaling", services: "Services", alerts: "Alerts", silences: "Alerts", tasks: "Tasks", cluster: "Cluster",
};

/** RPC names for the routes; a route missing here still gets an RPC, named from its method and path. */
const RPC_NAMES: Record<string, string> = {
  "get /v1/agent": "GetAgent",
  "get /v1/agent/logs": "GetAgentLogs",
  "get /v1/agent/system": "GetSystem",
  "post /v1/agent/workers/{name}/crash": "CrashWorker",
  "get /v1/apps": "ListApps",
  "get /v1/apps/{name}": "GetApp",
  "get /v1/apps/{name}/logs": "GetAppLogs",
  "get /v1/apps/{name}/logs/follow": "FollowAppLogs",
  "put /v1/apps/{name}/maintenance": "SetMaintenance",
  "post /v1/apps/{name}/replicas/{id}/restart": "RestartReplica",
  "post /v1/apps/{name}/reset": "ResetApp",
  "post /v1/apps/{name}/restart": "RestartApp",
  "post /v1/apps/{name}/scale": "ScaleApp",
  "post /v1/apps/{name}/start": "StartApp",
  "post /v1/apps/{name}/stop": "StopApp",
  "get /v1/balancers": "ListBalancers",
  "get /v1/balancers/{name}": "GetBalancer",
  "patch /v1/balancers/{name}/endpoints/{id}": "UpdateEndpoint",
  "post /v1/balancers/{name}/endpoints/{id}/drain": "DrainEndpoint",
  "get /v1/checks": "ListChecks",
  "post /v1/checks": "CreateCheck",
  "get /v1/checks/{id}": "GetCheck",
  "delete /v1/checks/{id}": "DeleteCheck",
  "put /v1/checks/{id}/fail": "FailCheck",
  "put /v1/checks/{id}/pass": "PassCheck",
  "put /v1/checks/{id}/warn": "WarnCheck",
  "get /v1/checks/{id}/history": "GetCheckHistory",
  "get /v1/health/summary": "GetHealthSummary",
  "get /v1/config": "GetConfig",
  "patch /v1/config": "PatchConfig",
  "delete /v1/config/overlay": "DeleteConfigOverlay",
  "post /v1/reload": "ReloadConfig",
  "get /v1/events": "ListEvents",
  "post /v1/events/ticket": "CreateEventTicket",
  "post /v1/metrics/{app}": "PushMetric",
  "get /v1/scaling": "ListScaling",
  "get /v1/scaling/{app}/forecast": "GetForecast",
  "get /v1/scaling/{app}/history": "GetScalingHistory",
  "put /v1/scaling/{app}/policy": "SetScalingPolicy",
  "delete /v1/scaling/{app}/policy": "DeleteScalingPolicy",
  "post /v1/scaling/{app}/simulate": "SimulateScaling",
  "get /v1/services": "ListServices",
  "get /v1/services/{namespace}/{name}": "GetService",
  "put /v1/services/{namespace}/{name}": "PutService",
  "delete /v1/services/{namespace}/{name}": "DeleteService",
  "get /v1/services/{namespace}/{name}/resolve": "ResolveService",
  "get /v1/alerts": "ListAlerts",
  "post /v1/alerts": "RaiseAlert",
  "get /v1/alerts/notifications": "ListAlertNotifications",
  "get /v1/alerts/stats": "GetAlertStats",
  "get /v1/alerts/{id}": "GetAlert",
  "post /v1/alerts/{id}/acknowledge": "AcknowledgeAlert",
  "post /v1/alerts/{id}/resolve": "ResolveAlert",
  "get /v1/silences": "ListSilences",
  "post /v1/silences": "CreateSilence",
  "get /v1/silences/{id}": "GetSilence",
  "delete /v1/silences/{id}": "ExpireSilence",
  "get /v1/apps/{name}/deployments": "ListDeployments",
  "post /v1/apps/{name}/deployments": "Deploy",
  "get /v1/apps/{name}/deployments/{id}": "GetDeployment",
  "post /v1/apps/{name}/deployments/{id}/abort": "AbortDeployment",
  "post /v1/apps/{name}/deployments/{id}/pause": "PauseDeployment",
  "post /v1/apps/{name}/deployments/{id}/resume": "ResumeDeployment",
  "get /v1/apps/{name}/revisions": "ListRevisions",
  "post /v1/apps/{name}/rollback": "Rollback",
  "get /v1/cluster/members": "ListClusterMembers",
  "get /v1/cluster/status": "GetClusterStatus",
  "get /v1/tasks": "ListTasks",
  "post /v1/tasks": "QueueTask",
  "get /v1/tasks/definitions": "ListTaskDefinitions",
  "get /v1/tasks/{id}": "GetTask",
  "put /v1/tasks/{id}": "UpdateTask",
  "delete /v1/tasks/{id}": "DeleteTask",
  "post /v1/tasks/{id}/cancel": "CancelTask",
  "post /v1/tasks/{id}/execute": "ExecuteTask",
  "get /v1/tasks/{id}/logs": "GetTaskLogs",
};

/** Streams: the RPC name, what one item is called, and the SSE event names that are notices rather than items. */
const STREAMS: Record<string, { name: string; item: string; notices: string[] }> = {
  "get /v1/events": { name: "WatchEvents", item: "event", notices: ["stream.gap", "stream.dropped"] },
  "get /v1/apps/{name}/logs/follow": { name: "FollowAppLogs", item: "line", notices: ["dropped"] },
  "get /v1/tasks/{id}/logs/follow": { name: "FollowTaskLogs", item: "output", notices: ["end"] },
};

/** Query parameters a gRPC caller has no use for: the event-stream ticket stands in for headers browsers cannot set. */
const SKIPPED_QUERY = new Set(["ticket"]);

const pascal = (s: string) =>
  s
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join("");

function fallbackName(method: string, path: string): string {
  const words = path.split("/").filter((s) => s !== "" && s !== "v1").map((s) => (s.startsWith("{") ? `By_${s.slice(1, -1)}` : s));
  return pascal(method) + words.map(pascal).join("");
}

function requestOf(name: string, op: Json, path: string): { msg: Msg; pathParams: string[]; queryParams: string[]; body: Rpc["body"] } {
  const msg: Msg = { name: `${name}Request`, fields: [], nested: [], reserved: [] };
  const pathParams: string[] = [];
  const queryParams: string[] = [];
  for (const p of (op.parameters as Json[] | undefined) ?? []) {
    const pname = p.name as string;
    if (p.in === "path") {
      pathParams.push(pname);
      addField(msg, pname, { type: "string" }, false, `Path parameter {${pname}} of ${path} (required).`);
    } else if (p.in === "query" && !SKIPPED_QUERY.has(pname)) {
      queryParams.push(pname);
      addField(msg, pname, { ...(p.schema as Json), ...(p.description ? { description: p.description } : {}) }, true);
    }
  }
  const bodySchema = ((op.requestBody as Json | undefined)?.content as Json | undefined)?.["application/json"] as Json | undefined;
  let body: Rpc["body"];
  if (bodySchema) {
    const raw = bodySchema.schema as Json;
    // A union of object shapes ({replicas} | {auto}) is one flat message with every branch's fields.
    const branches = raw.anyOf as Json[] | undefined;
    const s = Array.isArray(branches) && branches.every((b) => b.type === "object" && b.properties) ? (mergeObjects(branches) ?? raw) : raw;
    const props = s.type === "object" ? (s.properties as Record<string, Json> | undefined) : undefined;
    const clash = props && Object.keys(props).some((k) => pathParams.includes(k) || queryParams.includes(k));
    if (props && !clash) {
      body = "flat";
      const required = new Set((s.required as string[] | undefined) ?? []);
      for (const [k, v] of Object.entries(props)) addField(msg, k, v, !required.has(k));
    } else {
      body = "field";
      addField(msg, "body", { ...s, description: "The request body, as the REST route takes it." }, false);
    }
  }
  // Every request field tracks presence, so an omitted field reaches validation as missing rather than as 0 or "".
  for (let i = 0; i < msg.fields.length; i++) {
    const f = msg.fields[i]!;
    if (f.type.k !== "repeated" && f.type.k !== "map" && !f.optional) msg.fields[i] = { ...f, optional: true };
  }
  return { msg, pathParams, queryParams, body };
}

function responseOf(name: string, schema: Json | undefined, summary: string): Msg {
  if (!schema) return { name, fields: [], nested: [], reserved: [], doc: summary };
  if (schema.type === "object" && schema.properties) return messageOf(schema, name, summary);
  const msg: Msg = { name, fields: [], nested: [], reserved: [], doc: summary };
  addField(msg, schema.type === "array" ? "items" : "value", schema, false);
  return msg;
}

function streamResponseOf(name: string, data: Json, stream: { item: string }, summary: string): Msg {
  const msg: Msg = { name, fields: [], nested: [], reserved: [], doc: `${summary}. Each message holds one ${stream.item}, or a notice about the stream itself.` };
  const t = typeOf(data, stream.item, msg);
  msg.fields.push({ json: stream.item, name: "", number: 0, type: t, optional: true, required: false, doc: `The ${stream.item}.` });
  msg.fields.push({ json: "notice", name: "", number: 0, type: { k: "struct" }, optional: true, required: false, doc: 'A notice about the stream: {"event": <name>, ...what it says}.' });
  return msg;
}

/** The services of an OpenAPI document (the one GET /openapi.json serves), numbered from `lock`, which is updated. */
export function servicesOf(doc: Json, lock: Record<string, Record<string, number>>): Service[] {
  const services = new Map<string, Service>();
  const used = new Set<string>();
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
    if (!path.startsWith("/v1/")) continue;
    for (const [method, op] of Object.entries(ops)) {
      const key = `${method} ${path}`;
      const tag = path.split("/")[2]!;
      const service = `${SERVICE_OF_TAG[tag] ?? pascal(tag)}Service`;
      const ok = (op.responses as Record<string, Json>)[String(Object.keys(op.responses as Json).find((s) => /^2\d\d$/.test(s)))];
      const content = (ok?.content as Json | undefined) ?? {};
      const jsonSchema = (content["application/json"] as Json | undefined)?.schema as Json | undefined;
      const sse = content["text/event-stream"] as Json | undefined;
      const add = (name: string, build: (n: string) => Omit<Rpc, "service" | "name" | "method" | "path" | "role" | "summary">) => {
        let n = name;
        for (let i = 2; used.has(n); i++) n = `${name}${i}`;
        used.add(n);
        const svc = services.get(service) ?? { name: service, file: service.replace(/Service$/, "").toLowerCase(), rpcs: [] };
        services.set(service, svc);
        svc.rpcs.push({ service, name: n, method: method.toUpperCase(), path, role: String(op["x-polis-role"]), summary: String(op.summary ?? ""), ...build(n) });
      };
      const stream = STREAMS[key];
      if (jsonSchema && !(stream && stream.name === RPC_NAMES[key])) {
        add(RPC_NAMES[key] ?? fallbackName(method, path), (n) => {
          const r = requestOf(n, op, path);
          return { request: r.msg, response: responseOf(`${n}Response`, jsonSchema, String(op.summary ?? "")), pathParams: r.pathParams, queryParams: r.queryParams, body: r.body };
        });
      }
      if (sse) {
        const s = stream ?? { name: `${fallbackName(method, path)}Stream`, item: "item", notices: [] };
        add(s.name, (n) => {
          const r = requestOf(n, op, path);
          return {
            request: r.msg,
            response: streamResponseOf(`${n}Response`, sse["x-polis-event-data"] as Json, s, String(op.summary ?? "")),
            pathParams: r.pathParams,
            queryParams: r.queryParams,
            body: r.body,
            stream: { item: s.item, notices: s.notices },
          };
        });
      }
    }
  }
  const out = [...services.values()].sort((a, b) => a.name.localeCompare(b.name));
  for (const svc of out) {
    for (const rpc of svc.rpcs) {
      for (const m of [rpc.request, rpc.response]) {
        nameFields(m);
        numberFields(m, `${PACKAGE}.${m.name}`, lock);
      }
    }
  }
  return out;
}
