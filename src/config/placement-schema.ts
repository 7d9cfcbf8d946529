// An app's `placement:` block as the config schema reads it, and the label-name rule node labels share. Apart from
// placement.ts (its rules and its mapping onto the scheduler), which reads decoded apps: the schema imports this file,
// so it must not import the schema back.
import { Effect, Schema } from "effect";
import { Duration } from "./units.ts";

const def = <S extends Schema.Top>(schema: S, value: S["Encoded"]) => Schema.withDecodingDefaultKey<S>(Effect.succeed(value))(schema);
/** A cluster of 100 nodes × max_per_node is far below this; it bounds a pass (and etcd keys) against a typo. */
export const MAX_CLUSTER_REPLICAS = 10_000;
const Count = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: MAX_CLUSTER_REPLICAS }));
export const LABEL = /^[A-Za-z0-9]([A-Za-z0-9_./-]{0,61}[A-Za-z0-9])?$/;
const LabelName = Schema.String.check(Schema.isPattern(LABEL, { message: "Expected a label name of letters, digits, '.', '_', '/' or '-' (1-63 characters)" }));

const Constraint = Schema.Struct({
  label: LabelName,
  op: Schema.Literals(["eq", "neq", "in", "exists"]),
  value: Schema.optionalKey(Schema.String),
  values: Schema.optionalKey(Schema.Array(Schema.String)),
});

export const Placement = Schema.Struct({
  /** node: replicas run on this node (the default, as without a cluster); cluster: the leader places them. */
  scope: def(Schema.Literals(["node", "cluster"]), "node"),
  /** The cluster-wide count (scope cluster). Default: the app's `replicas` when it is a number. */
  replicas: Schema.optionalKey(Schema.Union([Count, Schema.Struct({ min: Count, max: Count })])),
  spread: def(Schema.Literals(["zone", "node", "none"]), "zone"),
  constraints: def(Schema.Array(Constraint), []),
  max_per_node: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1000 }))),
  reschedule: def(Schema.Struct({ delay: def(Duration, "5s"), max_delay: def(Duration, "1m") }), {}),
});

export type PlacementConfig = typeof Placement.Type;
