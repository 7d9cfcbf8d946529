// Protobuf message shapes derived from the admin API's JSON Schemas, and the JSON <-> protobuf object mapping they
// drive. One source (the route schemas) feeds REST validation, the OpenAPI document and the gRPC messages.
//
// Mapping: string/number/integer/boolean -> string/double/int64/bool; an object with properties -> a nested
// message; a record -> map<string, T>; an array -> repeated T; `T | null` -> optional T (null is "absent"); a union
// of objects -> one message with every branch's fields; anything else (open objects, mixed unions) ->
// google.protobuf.Value / Struct. Every field keeps its JSON key as json_name, so protobuf's JSON form equals REST's.

export type Scalar = "string" | "double" | "int64" | "bool";
export type FieldType =
  | { readonly k: "scalar"; readonly proto: Scalar }
  | { readonly k: "message"; readonly msg: Msg }
  | { readonly k: "repeated"; readonly of: FieldType }
  | { readonly k: "map"; readonly value: FieldType }
  | { readonly k: "value" }
  | { readonly k: "struct" };

export interface Field {
  readonly json: string;
  name: string;
  number: number;
  readonly type: FieldType;
  /** proto3 `optional`: presence is tracked (absent, or null in JSON). */
  readonly optional: boolean;
  /** The JSON side requires the key: an empty repeated or map field still becomes [] or {} on the way in. */
  readonly required: boolean;
  readonly doc?: string;
}

export interface Msg {
  readonly name: string;
  readonly fields: Field[];
  readonly nested: Msg[];
  readonly doc?: string;
  /** Numbers of fields that existed once and must never be reused. */
  reserved: number[];
}

type Json = Record<string, unknown>;

const pascal = (s: string) =>
  s
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join("") || "Value";

export const snake = (s: string) =>
  s
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .toLowerCase() || "field";

function describe(s: Json): string | undefined {
  const parts: string[] = [];
  if (typeof s.description === "string") parts.push(s.description);
  if (Array.isArray(s.enum)) parts.push(`One of: ${s.enum.map((v) => JSON.stringify(v)).join(", ")}.`);
  if (s.const !== undefined) parts.push(`Always ${JSON.stringify(s.const)}.`);
  return parts.length > 0 ? parts.join(" ") : undefined;
}

/** `T | null` -> [T, true]; anything else unchanged. */
function unwrapNull(s: Json): [Json, boolean] {
  const any = s.anyOf as Json[] | undefined;
  if (!Array.isArray(any)) return [s, false];
  const rest = any.filter((b) => b.type !== "null");
  if (rest.length === any.length) return [s, false];
  if (rest.length === 1) return [{ ...rest[0]!, ...(s.description ? { description: s.description } : {}) }, true];
  return [{ ...s, anyOf: rest }, true];
}

function scalarOf(s: Json): Scalar | undefined {
  const t = s.type ?? (s.const !== undefined ? typeof s.const : undefined);
  if (t === "string") return "string";
  if (t === "number") return "double";
  if (t === "integer") return "int64";
  if (t === "boolean") return "bool";
  return undefined;
}

/** The field type of a JSON Schema node; nested messages are added to `parent.nested`, named after `hint`. */
export function typeOf(schema: Json, hint: string, parent: Msg): FieldType {
  const scalar = scalarOf(schema);
  if (scalar) return { k: "scalar", proto: scalar };
  if (schema.type === "array") {
    const [items, nullable] = unwrapNull((schema.items as Json | undefined) ?? {});
    const of = nullable ? ({ k: "value" } as const) : typeOf(items, hint.endsWith("s") ? hint.slice(0, -1) : `${hint}Item`, parent);
    return of.k === "repeated" || of.k === "map" ? { k: "repeated", of: { k: "value" } } : { k: "repeated", of };
  }
  const any = schema.anyOf as Json[] | undefined;
  if (Array.isArray(any) && any.length > 0 && any.every((b) => b.type === "object" && b.properties)) {
    const merged = mergeObjects(any);
    if (merged) return objectType({ ...merged, description: schema.description }, hint, parent);
    return { k: "struct" };
  }
  if (schema.type === "object") {
    if (schema.properties) return objectType(schema, hint, parent);
    const extra = schema.additionalProperties;
    if (extra && typeof extra === "object" && Object.keys(extra).length > 0) {
      const [v, nullable] = unwrapNull(extra as Json);
      const value = nullable ? ({ k: "value" } as const) : typeOf(v, `${hint}Value`, parent);
      return value.k === "repeated" || value.k === "map" ? { k: "map", value: { k: "value" } } : { k: "map", value };
    }
    return { k: "struct" };
  }
  return { k: "value" };
}

/** Union of object branches as one object, or undefined when two branches give one key different types. */
export function mergeObjects(branches: Json[]): Json | undefined {
  const props: Record<string, Json> = {};
  for (const b of branches) {
    for (const [k, v] of Object.entries(b.properties as Record<string, Json>)) {
      const prev = props[k];
      if (prev && JSON.stringify({ ...prev, description: 0, enum: 0, const: 0 }) !== JSON.stringify({ ...v, description: 0, enum: 0, const: 0 })) {
        if (!(scalarOf(prev) && scalarOf(prev) === scalarOf(v))) return undefined;
      }
      props[k] = prev && Array.isArray(prev.enum) && Array.isArray(v.enum) ? { ...v, enum: [...new Set([...prev.enum, ...v.enum])] } : (prev ?? v);
    }
  }
  return { type: "object", properties: props, required: [] };
}

function objectType(schema: Json, hint: string, parent: Msg): FieldType {
  const taken = new Set([parent.name, ...parent.nested.map((m) => m.name)]);
  let name = pascal(hint);
  for (let i = 2; taken.has(name); i++) name = `${pascal(hint)}${i}`;
  const msg = messageOf(schema, name);
  parent.nested.push(msg);
  return { k: "message", msg };
}

/** A message from an object schema: one field per property, in schema order (numbers are assigned later). */
export function messageOf(schema: Json, name: string, doc?: string): Msg {
  const msg: Msg = { name, fields: [], nested: [], reserved: [], ...(doc ?? describe(schema) ? { doc: doc ?? describe(schema) } : {}) };
  const required = new Set((schema.required as string[] | undefined) ?? []);
  for (const [key, raw] of Object.entries((schema.properties as Record<string, Json> | undefined) ?? {})) {
    addField(msg, key, raw, !required.has(key));
  }
  return msg;
}

export function addField(msg: Msg, key: string, raw: Json, notRequired: boolean, doc?: string): void {
  const [s, nullable] = unwrapNull(raw);
  const type = typeOf(s, key, msg);
  const multi = type.k === "repeated" || type.k === "map";
  const d = doc ?? describe(s);
  msg.fields.push({ json: key, name: "", number: 0, type, optional: !multi && (nullable || notRequired), required: !notRequired, ...(d ? { doc: d } : {}) });
}

/** Field names unique within each message (a snake_case clash, e.g. startedAt and started_at, gets a suffix). */
export function nameFields(msg: Msg): void {
  const used = new Set<string>();
  // Keys already in snake_case claim their name first, so the camelCase twin is the one renamed.
  const order = [...msg.fields].sort((a, b) => Number(snake(b.json) === b.json) - Number(snake(a.json) === a.json));
  for (const f of order) {
    let n = snake(f.json);
    if (/^[0-9]/.test(n)) n = `f_${n}`;
    const base = n;
    for (let i = 2; used.has(n); i++) n = `${base}_${i}`;
    used.add(n);
    f.name = n;
  }
  for (const m of msg.nested) nameFields(m);
}

/** Field numbers from `lock` (message path -> field -> number), new fields after the highest number ever used. */
export function numberFields(msg: Msg, path: string, lock: Record<string, Record<string, number>>): void {
  const known = (lock[path] ??= {});
  let next = Math.max(0, ...Object.values(known)) + 1;
  for (const f of msg.fields) f.number = known[f.name] ??= next++;
  const live = new Set(msg.fields.map((f) => f.name));
  msg.reserved = Object.entries(known)
    .filter(([n]) => !live.has(n))
    .map(([, v]) => v)
    .sort((a, b) => a - b);
  for (const m of msg.nested) numberFields(m, `${path}.${m.name}`, lock);
}

// ---- JSON <-> protobufjs objects (keepCase field names; protobufjs spells the well-known Value fields in camelCase) ----

export function toValue(v: unknown): Json {
  if (v === null || v === undefined) return { nullValue: 0 };
  if (typeof v === "number") return { numberValue: v };
  if (typeof v === "string") return { stringValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  if (typeof v === "object") return { structValue: toStruct(v as Json) };
  return { stringValue: String(v) };
}

export function toStruct(o: Json): Json {
  const fields: Json = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) fields[k] = toValue(v);
  return { fields };
}

export function fromValue(v: Json | undefined): unknown {
  if (!v) return null;
  if ("numberValue" in v) return v.numberValue;
  if ("stringValue" in v) return v.stringValue;
  if ("boolValue" in v) return v.boolValue;
  if ("listValue" in v) return ((v.listValue as Json | undefined)?.values as Json[] | undefined)?.map(fromValue) ?? [];
  if ("structValue" in v) return fromStruct(v.structValue as Json);
  return null;
}

export function fromStruct(s: Json | undefined): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries((s?.fields as Record<string, Json> | undefined) ?? {})) out[k] = fromValue(v);
  return out;
}

function encodeType(t: FieldType, v: unknown): unknown {
  switch (t.k) {
    case "scalar":
      if (t.proto === "string") return typeof v === "string" ? v : JSON.stringify(v);
      if (t.proto === "bool") return Boolean(v);
      return typeof v === "number" ? v : Number(v);
    case "message":
      return v !== null && typeof v === "object" ? encodeMessage(t.msg, v as Json) : {};
    case "repeated":
      return Array.isArray(v) ? v.map((x) => encodeType(t.of, x)) : [];
    case "map": {
      const out: Json = {};
      if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) out[k] = encodeType(t.value, x);
      return out;
    }
    case "value":
      return toValue(v);
    case "struct":
      return v !== null && typeof v === "object" && !Array.isArray(v) ? toStruct(v as Json) : toStruct({ value: v });
  }
}

/** A JSON value (as REST sends it) -> the protobufjs object of `msg`. A null or missing optional field stays absent. */
export function encodeMessage(msg: Msg, json: Json): Json {
  const out: Json = {};
  for (const f of msg.fields) {
    const v = json[f.json];
    if (v === undefined || (v === null && f.type.k !== "value")) continue;
    out[f.name] = encodeType(f.type, v);
  }
  return out;
}

function decodeType(t: FieldType, v: unknown): unknown {
  switch (t.k) {
    case "scalar":
      return v;
    case "message":
      return decodeMessage(t.msg, (v ?? {}) as Json);
    case "repeated":
      return ((v as unknown[] | undefined) ?? []).map((x) => decodeType(t.of, x));
    case "map": {
      const out: Json = {};
      for (const [k, x] of Object.entries((v as Json | undefined) ?? {})) out[k] = decodeType(t.value, x);
      return out;
    }
    case "value":
      return fromValue(v as Json);
    case "struct":
      return fromStruct(v as Json);
  }
}

/** A decoded protobufjs object (defaults off) -> JSON as REST takes it; absent fields stay absent. */
export function decodeMessage(msg: Msg, obj: Json): Json {
  const out: Json = {};
  for (const f of msg.fields) {
    const v = obj[f.name];
    if (v === undefined) {
      if (f.required && f.type.k === "repeated") out[f.json] = [];
      else if (f.required && f.type.k === "map") out[f.json] = {};
      continue;
    }
    const empty = (f.type.k === "repeated" && (v as unknown[]).length === 0) || (f.type.k === "map" && Object.keys(v as Json).length === 0);
    if (empty && !f.required) continue;
    out[f.json] = decodeType(f.type, v);
  }
  return out;
}
