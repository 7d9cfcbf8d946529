// `polis demo-app`: a tiny HTTP app so the bundled demo needs nothing installed (replicas of the binary itself).

export function runDemoApp(portText: string | undefined): number | undefined {
  const raw = portText ?? process.env.PORT ?? "3000";
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) {
    process.stderr.write(`polis demo-app: invalid port "${raw}" (expected 0..65535, from ${portText !== undefined ? "--port" : "PORT"})\n`);
    return 2;
  }
  const id = process.env.POLIS_REPLICA !== undefined ? `${process.env.POLIS_APP ?? "app"}-${process.env.POLIS_REPLICA}` : `pid-${process.pid}`;
  let served = 0;
  const server: ReturnType<typeof Bun.serve> = Bun.serve({
    hostname: process.env.HOST ?? "127.0.0.1",
    port,
    reusePort: true,
    fetch(req): Response {
      served++;
      const url = new URL(req.url);
      if (url.pathname === "/healthz") return Response.json({ status: "ok", replica: id });
      if (url.pathname === "/work") {
        // Burn CPU for ?ms=N milliseconds (bounded) so load tests can drive the autoscaler.
        const ms = Math.min(200, Math.max(0, Number(url.searchParams.get("ms") ?? 10)));
        const until = performance.now() + ms;
        let x = 0;
        while (performance.now() < until) x++;
        return Response.json({ replica: id, spun: x });
      }
      return new Response(`hello from ${id} (pid ${process.pid}, port ${server.port}, request ${served})\n`);
    },
  });
  process.stdout.write(`demo-app ${id} listening on ${server.url.href}\n`);
  const stop = () => {
    server.stop(true);
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  return undefined;
}
