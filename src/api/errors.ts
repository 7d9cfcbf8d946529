// The API's error type and JSON envelope {code, message, details}; every error response has this shape.

export class ApiError extends Error {
  readonly _tag = "ApiError";
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 422 | 429 | 500 | 502 | 503 | 504,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** Response headers the error needs (WWW-Authenticate on a 401, Allow on a 405). */
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
  }
}

export interface ErrorEnvelope {
  code: string;
  message: string;
  details?: unknown;
}

export function envelope(code: string, message: string, details?: unknown): ErrorEnvelope {
  return details === undefined ? { code, message } : { code, message, details };
}
