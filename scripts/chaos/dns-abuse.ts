// DNS under abuse: random datagrams and TCP frames (seeded), then a flood of idle TCP connections from one client;
// after each, real queries over UDP and over a new TCP connection must still be answered.
import dnsPacket from "dns-packet";
import { chaosAgent, crashLines, emptyFigures, type Figures, type Scenario } from "./_harness.ts";

/** A tiny seeded generator (mulberry32), so a failing run can be replayed with the same seed. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const query = (id: number) => dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "SRV", name: "demo.polis" }] });

/**
 * A UDP query as a stub resolver makes it: sent again when no answer came within `timeoutMs` (glibc and dig retry
 * too). A datagram that arrives while the server's receive buffer is still full of garbage is dropped by the
 * kernel, which no server can help; a server wedged by the garbage answers none of the attempts. Resolves to the
 * attempt that was answered, or 0.
 */
async function udpQuery(port: number, timeoutMs = 2000, attempts = 3): Promise<number> {
  let answered = false;
  const sock = await Bun.udpSocket({
    socket: {
      data(_s, buf) {
        try {
          answered = dnsPacket.decode(Buffer.from(buf)).id === 4242;
        } catch {
          answered = false;
        }
      },
    },
  });
  try {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      sock.send(query(4242), port, "127.0.0.1");
      const until = Date.now() + timeoutMs;
      while (!answered && Date.now() < until) await Bun.sleep(10);
      if (answered) return attempt;
    }
    return 0;
  } finally {
    sock.close();
  }
}

async function tcpQuery(port: number, timeoutMs = 2000): Promise<boolean> {
  let got = Buffer.alloc(0);
  let sock: Awaited<ReturnType<typeof Bun.connect>> | undefined;
  try {
    sock = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data: (_s, d) => void (got = Buffer.concat([got, d])) } });
    const q = query(4343);
    const framed = Buffer.alloc(q.length + 2);
    framed.writeUInt16BE(q.length, 0);
    q.copy(framed, 2);
    sock.write(framed);
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (got.length >= 2 && got.length >= got.readUInt16BE(0) + 2) return dnsPacket.decode(got.subarray(2)).id === 4343;
      await Bun.sleep(10);
    }
    return false;
  } catch {
    return false;
  } finally {
    sock?.end();
  }
}

export const dnsAbuse: Scenario = {
  name: "dns-garbage-and-tcp-flood",
  goal: "every real query answered over UDP and TCP after garbage datagrams, garbage TCP frames and 300 idle TCP connections from one client; 0 crashes",
  judged: ["failed", "crashes"],
  async run(ctx) {
    const f: Figures = emptyFigures();
    const { agent } = await chaosAgent({ apps: 1 });
    await using _ = agent;
    const line = await agent.waitForLine((l) => l.msg === "DNS listening");
    const port = Number(String(line.udp).split(":").pop());
    const seed = Number(process.env.CHAOS_SEED ?? 1);
    const rand = rng(seed);
    const count = Math.max(500, Math.round(5000 * ctx.scale));
    const probe = async (phase: string) => {
      const attempt = await udpQuery(port);
      if (attempt > 1) f.notes += `udp query after ${phase} answered at attempt ${attempt}; `;
      for (const [kind, ok] of [["udp", attempt > 0], ["tcp", await tcpQuery(port)]] as const) {
        f.sent++;
        if (!ok) {
          f.failed++;
          f.notes += `${kind} query unanswered after ${phase}; `;
        }
      }
    };
    await probe("start");
    // Garbage datagrams: random lengths and bytes, some with a valid-looking header.
    const udp = await Bun.udpSocket({ socket: { data() {} } });
    for (let i = 0; i < count; i++) {
      const b = Buffer.alloc(Math.floor(rand() * 600));
      for (let j = 0; j < b.length; j++) b[j] = Math.floor(rand() * 256);
      if (b.length >= 12 && rand() < 0.5) b.writeUInt16BE(1, 4); // qdcount 1
      udp.send(b, port, "127.0.0.1");
      if (i % 200 === 0) await Bun.sleep(1);
    }
    udp.close();
    await probe("garbage datagrams");
    // Garbage TCP frames: lengths that lie, truncated frames, random bytes.
    for (let c = 0; c < 20; c++) {
      const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).catch(() => undefined);
      if (!s) continue;
      for (let i = 0; i < count / 20; i++) {
        const b = Buffer.alloc(Math.floor(rand() * 300));
        for (let j = 0; j < b.length; j++) b[j] = Math.floor(rand() * 256);
        s.write(b);
      }
      s.end();
    }
    await probe("garbage TCP frames");
    // 300 idle connections from one client (defect 10 of the campaign: they blocked every TCP query).
    const idle: Array<{ end(): void }> = [];
    for (let i = 0; i < 300; i++) {
      const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).catch(() => undefined);
      if (s) idle.push(s);
    }
    await probe("300 idle TCP connections");
    for (const s of idle) s.end();
    f.crashes = crashLines(agent).length + (agent.proc.exitCode !== null ? 1 : 0);
    f.notes += `seed ${seed}; ${count} datagrams, ${count} TCP frames, ${idle.length} idle connections opened`;
    return f;
  },
};
