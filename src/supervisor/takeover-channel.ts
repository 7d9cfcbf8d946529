// The control socket's framing: one JSON object per line over a Unix socket, both ends. Input is bounded (a line over
// MAX_LINE_BYTES or one that is not a known message closes the connection); nothing read from the socket can throw.
import type { Socket } from "bun";
import { chmodSync, existsSync, statSync, unlinkSync } from "node:fs";

/** Far above any real message (a few hundred bytes); a peer sending more is not one of ours. */
const MAX_LINE_BYTES = 64 * 1024;
/** Linux's sun_path is 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

export interface Channel<In, Out> {
  send(msg: Out): boolean;
  /** The next message, or "closed" once the peer is gone; rejects after timeoutMs. */
  receive(timeoutMs: number): Promise<In | "closed">;
  onMessage(fn: (msg: In) => void): void;
  onClose(fn: () => void): void;
  close(): void;
  readonly closed: boolean;
}

interface Conn<In, Out> extends Channel<In, Out> {
  feed(chunk: Buffer): void;
  ended(): void;
}

function createConn<In extends { t: string }, Out>(sock: Socket<unknown>, tags: ReadonlySet<string>): Conn<In, Out> {
  let buf = "";
  let closed = false;
  const queue: In[] = [];
  const waiters: Array<(m: In | "closed") => void> = [];
  let handler: ((m: In) => void) | undefined;
  const closeFns: Array<() => void> = [];
  const deliver = (m: In) => {
    const w = waiters.shift();
    if (w) w(m);
    else if (handler) handler(m);
    else queue.push(m);
  };
  const conn: Conn<In, Out> = {
    get closed() {
      return closed;
    },
    send(msg) {
      if (closed) return false;
      return sock.write(`${JSON.stringify(msg)}\n`) >= 0;
    },
    receive(timeoutMs) {
      const m = queue.shift();
      if (m) return Promise.resolve(m);
      if (closed) return Promise.resolve("closed");
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const i = waiters.indexOf(done);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`no answer on the control socket within ${timeoutMs} ms`));
        }, timeoutMs);
        const done = (v: In | "closed") => {
          clearTimeout(timer);
          resolve(v);
        };
        waiters.push(done);
      });
    },
    onMessage(fn) {
      handler = fn;
      for (const m of queue.splice(0)) fn(m);
    },
    onClose(fn) {
      if (closed) fn();
      else closeFns.push(fn);
    },
    close() {
      sock.end();
      conn.ended();
    },
    feed(chunk) {
      if (closed) return;
      buf += chunk.toString("utf8");
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let msg: unknown;
        try {
          msg = JSON.parse(line);
        } catch {
          return conn.close();
        }
        if (typeof msg !== "object" || msg === null || !tags.has(String((msg as { t?: unknown }).t))) return conn.close();
        deliver(msg as In);
        if (closed) return;
      }
      if (buf.length > MAX_LINE_BYTES) conn.close();
    },
    ended() {
      if (closed) return;
      closed = true;
      for (const w of waiters.splice(0)) w("closed");
      for (const fn of closeFns.splice(0)) fn();
    },
  };
  return conn;
}

export interface ChannelServer {
  readonly path: string;
  /** Stops listening and removes the socket file while it is still ours; with `unlink` false, does neither (handing over). */
  close(unlink: boolean): void;
}

/**
 * Listens on `path`. A socket file left by an agent that died is replaced; one that answers belongs to a running
 * agent, and listening fails with a message that says so (unless `replace`: a successor taking the path over).
 */
export async function listenChannel<In extends { t: string }, Out>(
  path: string,
  tags: ReadonlySet<string>,
  onConnection: (c: Channel<In, Out>) => void,
  opts: { replace: boolean } = { replace: false },
): Promise<ChannelServer> {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) throw new Error(`${path}: longer than ${MAX_SOCKET_PATH_BYTES} bytes, too long for a Unix socket`);
  if (existsSync(path) && opts.replace) unlinkSync(path);
  if (existsSync(path)) {
    const probe = await connectChannel(path, new Set(), 1000);
    if (probe) {
      probe.close();
      throw new Error(`${path}: another agent is running with this data dir (use "polis agent --takeover" to replace it)`);
    }
    unlinkSync(path);
  }
  const listener = Bun.listen<Conn<In, Out>>({
    unix: path,
    socket: {
      open(s) {
        s.data = createConn<In, Out>(s as Socket<unknown>, tags);
        onConnection(s.data);
      },
      data(s, chunk) {
        s.data.feed(chunk);
      },
      close(s) {
        s.data?.ended();
      },
      error(s) {
        s.data?.ended();
      },
    },
  });
  // Whoever can connect can make this agent run a binary (upgrade): the owner only, as with the admin token file.
  chmodSync(path, 0o600);
  const ino = statSync(path).ino;
  return {
    path,
    close(unlink) {
      // Stopping the listener removes the file at `path` (Bun does), which a successor has already bound again: an
      // agent handing over leaves its listener to process exit instead.
      if (!unlink) return;
      listener.stop(true);
      try {
        if (unlink && statSync(path).ino === ino) unlinkSync(path);
      } catch {
        // Already gone.
      }
    },
  };
}

/** Connects to `path`; undefined when nothing listens there (no file, or a file left by an agent that died). */
export async function connectChannel<In extends { t: string }, Out>(path: string, tags: ReadonlySet<string>, timeoutMs: number): Promise<Channel<In, Out> | undefined> {
  if (!existsSync(path)) return undefined;
  let conn: Conn<In, Out> | undefined;
  const connecting = Bun.connect<undefined>({
    unix: path,
    socket: {
      open(s) {
        conn = createConn<In, Out>(s as Socket<unknown>, tags);
      },
      data(_s, chunk) {
        conn?.feed(chunk);
      },
      close() {
        conn?.ended();
      },
      error() {
        conn?.ended();
      },
    },
  }).then(
    () => conn,
    () => undefined,
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bounded = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
  const c = await Promise.race([connecting, bounded]);
  clearTimeout(timer);
  return c;
}
