// GET /openapi.json: an OpenAPI 3.1 document generated from the same schemas that validate every route.
import { Schema } from "effect";
import { Hono } from "hono";
import { VERSION } from "../version.ts";
import { registry } from "./route.ts";

const ErrorEnvelope = Schema.Struct({ code: Schema.String, message: Schema.String, details: Schema.optionalKey(Schema.Unknown) });

function jsonSchema(schema: Schema.Top): unknown {
  const doc = Schema.toJsonSchemaDocument(schema as never) as { schema: Record<string, unknown>; definitions?: Record<string, unknown> };
  // Inline definitions under components would need ref rewriting; keeping each schema self-contained is simpler.
  return doc.definitions && Object.keys(doc.definitions).length > 0 ? { ...doc.schema, $defs: doc.definitions } : doc.schema;
}

export function buildOpenApi(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of registry) {
    const path = r.path.replace(/:([A-Za-z_]+)/g, "{$1}");
    const params = [...r.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
    const query = r.query ? (jsonSchema(r.query) as { properties?: Record<string, unknown>; required?: string[] }) : undefined;
    for (const [name, schema] of Object.entries(query?.properties ?? {})) {
      params.push({ name, in: "query", required: (query?.required ?? []).includes(name), schema: schema as { type: string } });
    }
    paths[path] ??= {};
    paths[path]![r.method] = {
      summary: r.summary,
      "x-polis-role": r.role,
      security: [{ bearer: [] }],
      ...(params.length > 0 ? { parameters: params } : {}),
      ...(r.body ? { requestBody: { required: true, content: { "application/json": { schema: jsonSchema(r.body) } } } } : {}),
      responses: {
        [String(r.status)]: { description: "success", content: { "application/json": { schema: jsonSchema(r.response) } } },
        default: { description: "error", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: "Polis admin API", version: VERSION },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: { Error: jsonSchema(ErrorEnvelope) },
    },
    paths,
  };
}

export function openApiRoutes(): Hono {
  const app = new Hono();
  let cached: Record<string, unknown> | undefined;
  app.get("/", (c) => c.json((cached ??= buildOpenApi())));
  return app;
}
