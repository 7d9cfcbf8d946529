// Screenshots of each console page in light and dark, written to docs/console/ (run after `npm run build`):
// the compiled agent with the demo app, a balancer, a firing alert and a finished task.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { demoApp, freePort } from "../test/fixtures/it-apps-fixture.ts";
import { startAgent } from "../test/support/agent.ts";
import { launchBrowser } from "../test/support/browser.ts";
import { waitFor } from "../test/support/wait-for.ts";

const TOKEN = "screenshot-token-0123456789";
const PAGES = ["", "apps", "checks", "balancers", "scaling", "alerts", "tasks", "policies", "events", "cluster"];
const out = join(import.meta.dir, "../docs/console");
mkdirSync(out, { recursive: true });

const policies = mkdtempSync(join(tmpdir(), "polis-shots-"));
writeFileSync(
  join(policies, "watch.yaml"),
  "apiVersion: polis/v1\nkind: Policy\nmetadata: {name: demo-watch}\nspec:\n  selector: {kinds: [app], matchLabels: {app: demo}}\n  mode: dry_run\n  rules:\n    - name: has-ready\n      when: {cel: \"app.ready >= 2\"}\n      actions: [{type: alert, severity: info, summary: \"demo is up\"}]\n",
);
const agent = await startAgent({
  config: {
    policies: { dir: policies, interval: "1s" },
    api: { tokens: [{ name: "ops", token: TOKEN, role: "operator" }], allow_api_tasks: true },
    apps: [demoApp("demo", { min: 2, max: 4 }, { checks: [{ name: "http", kind: "http", path: "/healthz", interval: "1s", timeout: "500ms" }], scaling: { metrics: [{ name: "cpu", target: 60 }], predictive: { enabled: true, horizon: "10m", step: "5m", season: "24h" } } })],
    balancers: [{ name: "web", listen: `127.0.0.1:${freePort()}`, protocol: "http", backends: { app: "demo" } }],
  },
});
const call = (path: string, body?: unknown) =>
  fetch(`${agent.url}${path}`, { method: body === undefined ? "GET" : "POST", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
const chrome = await launchBrowser();
try {
  await waitFor(async () => ((await (await call("/v1/apps/demo")).json()) as { ready: number }).ready >= 2 || undefined, { timeoutMs: 30_000, what: "demo ready" });
  await call("/v1/alerts", { name: "DiskFilling", severity: "warning", labels: { host: "edge-1" }, annotations: { summary: "/var is 91% full" } });
  await call("/v1/tasks", { name: "backup", command: "sh", args: ["-c", "echo done"] });
  await call("/v1/silences", { matchers: ["alertname=FanNoisy"], duration: "4h", comment: "fan swap scheduled" });
  for (const scheme of ["light", "dark"] as const) {
    const context = await chrome.browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: scheme });
    const page = await context.newPage();
    await page.goto(`${agent.url}/ui/`);
    await page.getByLabel("API token").fill(TOKEN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("role").waitFor();
    for (const p of PAGES) {
      await page.goto(`${agent.url}/ui/${p}`);
      await page.getByRole("heading", { level: 1 }).waitFor();
      // Two polling rounds, so sparklines have points and the event tail has filled.
      await Bun.sleep(4500);
      await page.screenshot({ path: join(out, `${p || "overview"}-${scheme}.png`), fullPage: false });
    }
    await context.close();
  }
  console.log(`wrote ${PAGES.length * 2} screenshots to ${out}`);
} finally {
  await chrome.close();
  await agent.stop();
  rmSync(policies, { recursive: true, force: true });
}
