// Re-export of the seeded generator so tests import their support from one place.
export { createSeededRng } from "../../src/core/time.ts";
