// Refuses a JSON body nested deeper than a bound before anything decodes it: decoders, merge patches and
// redaction recurse per level, and a body 50,000 levels deep would overflow the stack (a 500) in each of them.
import type { MiddlewareHandler } from "hono";
import { envelope } from "./errors.ts";

/** Far deeper than any request body of this API (the config nests 6 levels), far shallower than a stack. */
export const MAX_JSON_DEPTH = 64;

/** The offset where nesting first exceeds `limit`, or -1. One pass, no allocation; strings are skipped. */
export function depthExceededAt(text: string, limit: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > limit) return i;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return -1;
}

export function jsonDepthLimit(limit = MAX_JSON_DEPTH): MiddlewareHandler {
  return async function jsonDepthLimit(c, next) {
    const m = c.req.method;
    if (m === "GET" || m === "HEAD" || m === "OPTIONS" || c.req.raw.body === null) return next();
    // Hono caches the text, so the route reads the same body again without a second read of the stream.
    const at = depthExceededAt(await c.req.text(), limit);
    if (at >= 0) return c.json(envelope("bad_request", `JSON body nests deeper than ${limit} levels (at character ${at})`, { max_depth: limit }), 400);
    return next();
  };
}
