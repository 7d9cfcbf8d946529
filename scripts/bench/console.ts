// The web console's figures: bundle size (gzip), navigation to the first rendered apps table in Chromium, and the
// agent's added CPU while the Overview page (the one that polls the most) stays open.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { launchBrowser } from "../../test/support/browser.ts";
import { buildUi } from "../ui-build.ts";
import { freePort, loadAverage, median, portRange, startAgent } from "./_agent.ts";

const TOKEN = "bench-console-token-0123456789";
const CPU_WINDOW_MS = 30_000;
const RENDERS = 9;

const ui = await buildUi(join(import.meta.dir, "../.."));
const gzip = Object.values(ui.sizes).reduce((n, s) => n + s.gzip, 0);
const raw = Object.values(ui.sizes).reduce((n, s) => n + s.raw, 0);
console.log(`bundle: ${(gzip / 1024).toFixed(1)} KiB gzip (${(raw / 1024).toFixed(1)} KiB raw) in ${Object.keys(ui.sizes).length} assets`);
for (const [k, v] of Object.entries(ui.sizes)) console.log(`  ${k}: ${v.gzip} B gzip`);

const agent = await startAgent({
  config: {
    api: { tokens: [{ name: "bench", token: TOKEN, role: "operator" }] },
    apps: [{ name: "demo", command: "@self", args: ["demo-app"], replicas: 2, port: { range: portRange() }, readiness: { kind: "port", timeout: "20s" } }],
    balancers: [{ name: "web", listen: `127.0.0.1:${freePort()}`, backends: { app: "demo" } }],
  },
});
const chrome = await launchBrowser();
const ticks = () => {
  const f = readFileSync(`/proc/${agent.proc.pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return Number(rest[11]) + Number(rest[12]);
};
const HZ = 100;
try {
  const context = await chrome.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const signin = await fetch(`${agent.url}/ui/session`, { method: "POST", body: JSON.stringify({ token: TOKEN }) });
  const id = /polis_session=([^;]+)/.exec(signin.headers.getSetCookie()[0] ?? "")?.[1];
  const host = new URL(agent.url);
  await context.addCookies(["/ui", "/v1"].map((path) => ({ name: "polis_session", value: id!, domain: host.hostname, path, httpOnly: true, sameSite: "Strict" as const })));
  const page = await context.newPage();
  const times: number[] = [];
  for (let i = 0; i < RENDERS; i++) {
    await page.goto(`${agent.url}/ui/apps`);
    await page.locator('article[data-app="demo"] tbody tr').first().waitFor({ timeout: 20_000 });
    const t = (await page.evaluate(`performance.getEntriesByName("polis:apps-rendered")[0]?.startTime ?? -1`)) as number;
    if (t >= 0) times.push(t);
  }
  times.sort((a, b) => a - b);
  console.log(`first apps table: median ${median(times).toFixed(0)} ms, min ${times[0]?.toFixed(0)}, max ${times[times.length - 1]?.toFixed(0)} (${times.length} navigations)`);

  await page.goto("about:blank");
  let t0 = ticks();
  await Bun.sleep(CPU_WINDOW_MS);
  const idle = ((ticks() - t0) / HZ / (CPU_WINDOW_MS / 1000)) * 100;
  await page.goto(`${agent.url}/ui/`);
  await page.getByTestId("replica-count").waitFor();
  t0 = ticks();
  await Bun.sleep(CPU_WINDOW_MS);
  const open = ((ticks() - t0) / HZ / (CPU_WINDOW_MS / 1000)) * 100;
  console.log(`agent CPU over ${CPU_WINDOW_MS / 1000} s: ${idle.toFixed(2)}% of a core without the console, ${open.toFixed(2)}% with the Overview open: +${(open - idle).toFixed(2)}%`);
  console.log(`load average: ${loadAverage()}`);
  await context.close();
  await bigBalancer();
} finally {
  await chrome.close();
  await agent.stop();
}

/** A balancer of 1,000 endpoints: navigation to its first rendered rows, and how much of the table is in the page. */
async function bigBalancer(): Promise<void> {
  const endpoints = Array.from({ length: 1000 }, (_, i) => ({ address: `127.1.${i >> 8}.${(i & 255) + 1}:9` }));
  const big = await startAgent({ config: { api: { tokens: [{ name: "bench", token: TOKEN, role: "operator" }] }, balancers: [{ name: "big", listen: `127.0.0.1:${freePort()}`, backends: { endpoints } }] } });
  try {
    const context = await chrome.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const signin = await fetch(`${big.url}/ui/session`, { method: "POST", body: JSON.stringify({ token: TOKEN }) });
    const id = /polis_session=([^;]+)/.exec(signin.headers.getSetCookie()[0] ?? "")?.[1];
    const host = new URL(big.url);
    await context.addCookies(["/ui", "/v1"].map((path) => ({ name: "polis_session", value: id!, domain: host.hostname, path, httpOnly: true, sameSite: "Strict" as const })));
    const page = await context.newPage();
    const times: number[] = [];
    let rows = 0;
    let nodes = 0;
    for (let i = 0; i < RENDERS; i++) {
      await page.goto(`${big.url}/ui/balancers`);
      await page.locator('article[data-balancer="big"] tr[data-endpoint]').first().waitFor({ timeout: 20_000 });
      times.push((await page.evaluate("performance.now()")) as number);
      rows = await page.locator("tr[data-endpoint]").count();
      nodes = (await page.evaluate("document.getElementsByTagName('*').length")) as number;
    }
    // A scroll from top to bottom in 20 steps: the frames it took, as the browser reports them.
    const scroll = (await page.evaluate(`(async () => {
      const box = document.querySelector('[data-testid="endpoint-scroll"]');
      const t0 = performance.now();
      const steps = [];
      let last = t0;
      for (let i = 1; i <= 20; i++) {
        box.scrollTop = (box.scrollHeight * i) / 20;
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        const now = performance.now();
        steps.push(now - last);
        last = now;
      }
      steps.sort((a, b) => a - b);
      return { ms: performance.now() - t0, median: steps[10], worst: steps[19], rows: document.querySelectorAll("tr[data-endpoint]").length };
    })()`)) as { ms: number; median: number; worst: number; rows: number };
    times.sort((a, b) => a - b);
    console.log(`1,000 endpoints: first rows ${median(times).toFixed(0)} ms after navigation (min ${times[0]?.toFixed(0)}, max ${times[times.length - 1]?.toFixed(0)}), ${rows} rows and ${nodes} elements in the page; 20 scroll steps to the bottom in ${scroll.ms.toFixed(0)} ms (two frames per step: median ${scroll.median.toFixed(0)} ms, slowest ${scroll.worst.toFixed(0)} ms, ${scroll.rows} rows at the end)`);
    await context.close();
  } finally {
    await big.stop();
  }
}
