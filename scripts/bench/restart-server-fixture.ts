// The tiny HTTP server the restart bench supervises: answers every request with its own pid, so a bench can
// tell the replacement from a dying predecessor that still accepts for a moment.
Bun.serve({ port: Number(process.env.PORT ?? 0), hostname: "127.0.0.1", fetch: () => new Response(String(process.pid)) });
export {};
