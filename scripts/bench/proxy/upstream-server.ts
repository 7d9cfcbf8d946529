// Bench upstream: a minimal Bun.serve answering a short text body; prints "ready <port>".

const port = Number(process.argv[2] ?? 0);
const body = "hello from upstream\n";
const server = Bun.serve({ hostname: "127.0.0.1", port, fetch: () => new Response(body) });
console.log(`ready ${server.port}`);
