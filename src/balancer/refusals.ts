// Canned responses the proxy sends itself (refused requests, gateway errors), encoded once.

const REASONS: Record<number, string> = {
  400: "Bad Request",
  405: "Method Not Allowed",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

export function statusText(status: number): string {
  return REASONS[status] ?? "Error";
}

const cache = new Map<number, Buffer>();

/** `HTTP/1.1 <status>` with a short text body; `keepAlive` false adds Connection: close. */
export function refusal(status: number, keepAlive: boolean): Buffer {
  const key = status * 2 + (keepAlive ? 1 : 0);
  let b = cache.get(key);
  if (b === undefined) {
    const body = `${status} ${statusText(status)}\n`;
    b = Buffer.from(
      `HTTP/1.1 ${status} ${statusText(status)}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n` +
      // 405 is only ever CONNECT without a configured tunnel; RFC 9110 requires Allow with it.
      (status === 405 ? "Allow: GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, TRACE\r\n" : "") +
      `${keepAlive ? "" : "Connection: close\r\n"}\r\n${body}`,
    );
    cache.set(key, b);
  }
  return b;
}
