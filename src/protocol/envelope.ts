// The envelope around every message between the supervisor and a worker (a tiny fixed shape; the body is msgpack).
//
// parent -> worker: [REQUEST, body] | [CLOSE]
// worker -> parent: [READY] | [DATA, body]
// A worker says READY only after its init; CLOSE asks it to finish and exit (the parent terminates it after a bound).

export const REQUEST = 0;
export const CLOSE = 1;
export const READY = 2;
export const DATA = 3;

export type ToWorkerEnvelope = readonly [typeof REQUEST, Uint8Array] | readonly [typeof CLOSE];
export type FromWorkerEnvelope = readonly [typeof READY] | readonly [typeof DATA, Uint8Array];
