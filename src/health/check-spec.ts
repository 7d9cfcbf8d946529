// What one check is, and the validation that names every bad field before anything is scheduled: the one rule set
// in src/core/health/check-rules.ts, which config validation runs too.
import type { CheckSpec } from "../protocol/health.ts";

export type { CheckSpec };
export { type FieldError, validateCheck } from "../core/health/check-rules.ts";
