// JSON Schema -> protobuf shapes: the type table, JSON <-> protobuf objects both ways, field naming and the number lock.
import { describe, expect, test } from "bun:test";
import { decodeMessage, encodeMessage, type Msg, messageOf, nameFields, numberFields } from "../../../../src/api/grpc/shape.ts";

const obj = (properties: Record<string, unknown>, required: string[] = Object.keys(properties)) => ({ type: "object", properties, required, additionalProperties: false });

function build(schema: Record<string, unknown>, lock: Record<string, Record<string, number>> = {}): Msg {
  const m = messageOf(schema, "M");
  nameFields(m);
  numberFields(m, "p.M", lock);
  return m;
}

describe("JSON Schema to protobuf fields", () => {
  const m = build(
    obj({
      s: { type: "string", enum: ["a", "b"] },
      n: { type: "number" },
      i: { type: "integer" },
      b: { type: "boolean" },
      maybe: { anyOf: [{ type: "number" }, { type: "null" }] },
      labels: { type: "object", additionalProperties: { type: "string" } },
      list: { type: "array", items: obj({ x: { type: "string" } }) },
      open: { type: "object" },
      mixed: { anyOf: [{ type: "integer" }, { type: "string" }] },
      union: { anyOf: [obj({ replicas: { type: "integer" } }), obj({ auto: { type: "boolean" } })] },
    }),
  );
  const kinds = Object.fromEntries(m.fields.map((f) => [f.json, `${f.optional ? "optional " : ""}${f.type.k === "scalar" ? f.type.proto : f.type.k}`]));
  test.each([
    ["s", "string"],
    ["n", "double"],
    ["i", "int64"],
    ["b", "bool"],
    ["maybe", "optional double"],
    ["labels", "map"],
    ["list", "repeated"],
    ["open", "struct"],
    ["mixed", "value"],
    ["union", "message"],
  ])("%s -> %s", (key, kind) => expect(kinds[key]).toBe(kind));

  test("a union of objects is one message holding every branch's fields, each optional", () => {
    const u = m.fields.find((f) => f.json === "union")!;
    if (u.type.k !== "message") throw new Error("not a message");
    expect(u.type.msg.fields.map((f) => [f.name, f.optional])).toEqual([["replicas", true], ["auto", true]]);
  });
});

describe("JSON <-> protobuf objects", () => {
  const m = build(
    obj(
      {
        name: { type: "string" },
        startedAt: { type: "number" },
        started_at: { anyOf: [{ type: "string" }, { type: "null" }] },
        data: { type: "object" },
        tags: { type: "array", items: { type: "string" } },
        must: { type: "array", items: { type: "string" } },
      },
      ["name", "must"],
    ),
  );

  test("a camelCase key that clashes with a snake_case one is renamed; json_name keeps both JSON keys", () => {
    expect(m.fields.map((f) => [f.json, f.name])).toEqual([
      ["name", "name"],
      ["startedAt", "started_at_2"],
      ["started_at", "started_at"],
      ["data", "data"],
      ["tags", "tags"],
      ["must", "must"],
    ]);
  });

  test("null becomes absent, free-form objects become Struct, and the way back gives the same JSON", () => {
    const json = { name: "x", startedAt: 5, started_at: null, data: { a: [1, "two", null, { b: true }] }, tags: ["t"], must: [] };
    const pb = encodeMessage(m, json);
    expect(pb.started_at).toBeUndefined();
    expect(pb.data).toEqual({ fields: { a: { listValue: { values: [{ numberValue: 1 }, { stringValue: "two" }, { nullValue: 0 }, { structValue: { fields: { b: { boolValue: true } } } }] } } } });
    const back = decodeMessage(m, pb);
    expect(back).toEqual({ name: "x", startedAt: 5, data: { a: [1, "two", null, { b: true }] }, tags: ["t"], must: [] });
  });

  test("an empty required list survives the trip (proto3 cannot tell it from absent); an optional one is left out", () => {
    expect(decodeMessage(m, { name: "x" })).toEqual({ name: "x", must: [] });
  });
});

describe("field numbers", () => {
  test("numbers come from the lock: a field added in front takes the next free number, a removed one is reserved", () => {
    const lock: Record<string, Record<string, number>> = {};
    build(obj({ a: { type: "string" }, b: { type: "string" } }), lock);
    expect(lock["p.M"]).toEqual({ a: 1, b: 2 });
    const grown = build(obj({ z: { type: "string" }, a: { type: "string" }, b: { type: "string" } }), lock);
    expect(grown.fields.map((f) => [f.name, f.number])).toEqual([["z", 3], ["a", 1], ["b", 2]]);
    const shrunk = build(obj({ z: { type: "string" }, b: { type: "string" } }), lock);
    expect(shrunk.reserved).toEqual([1]);
    expect(shrunk.fields.map((f) => f.number)).toEqual([3, 2]);
    // Contrast: without the lock the same message would renumber from 1.
    expect(build(obj({ z: { type: "string" }, b: { type: "string" } })).fields.map((f) => f.number)).toEqual([1, 2]);
  });
});
