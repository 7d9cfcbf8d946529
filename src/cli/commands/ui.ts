// polis ui: prints a one-time sign-in link for the web console (a 30-second, single-use ticket; no token in it).
import type { CommandDef } from "../args.ts";

export const ui: CommandDef = {
  name: "ui",
  summary: "print a one-time link that signs a browser in to the web console",
  details:
    "Asks the agent for a single-use ticket valid for 30 seconds and prints <url>/ui/login?ticket=...; opening it shows whom the link signs in as, and confirming there exchanges the ticket for a session cookie (the same role as the token this command used); the address bar keeps no ticket. Pick the role with --token; without it, the least privileged configured token with the operator role is used.",
  role: "operator",
  examples: ["polis ui", "polis ui --token \"$POLIS_READ_TOKEN\""],
  async run(ctx) {
    const c = ctx.client();
    const t = (await c.call("POST", "/v1/events/ticket")) as { ticket: string; expiresAt: number };
    const link = `${c.url}/ui/login?ticket=${encodeURIComponent(t.ticket)}`;
    if (ctx.opts.json) ctx.out.line(JSON.stringify({ url: link, expiresAt: t.expiresAt }));
    else ctx.out.line(`${link}\n(single use, valid until ${new Date(t.expiresAt).toLocaleTimeString()})`);
    return 0;
  },
};
