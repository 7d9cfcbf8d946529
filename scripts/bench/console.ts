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
} finally {
  await chrome.close();
  await agent.stop();
}
