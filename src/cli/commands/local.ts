// Commands that need no running agent: agent, validate, version, demo-app, init, service.
import { loadPolicyDir, policyDir } from "../../policy/loader.ts";
import { basename, resolve } from "node:path";
import { formatProblems, loadConfigFile, readDotEnv } from "../../config/load.ts";
import { VERSION } from "../../version.ts";
import { runAgent } from "../agent.ts";
import { type CommandDef, UsageError } from "../args.ts";
import { DEFAULT_CONFIG } from "../connect.ts";
import { runDemoApp } from "../demo-app.ts";
import { runUpgrade } from "../upgrade.ts";
import { STARTER_CONFIG, writeNewFile } from "../init.ts";
import type { Output } from "../output.ts";
import { renderUnit } from "../service.ts";

/** Loads and checks a config; prints every problem on failure. */
function check(file: string, out: Output) {
  const r = loadConfigFile(file, readDotEnv(process.cwd(), process.env));
  if (!r.ok) out.error(`polis: invalid config ${r.error.source} (${r.error.problems.length} problem${r.error.problems.length === 1 ? "" : "s"}):\n${formatProblems(r.error.problems)}`);
  return r;
}

export const agent: CommandDef = {
  name: "agent",
  summary: "run the agent in the foreground",
  details: "Loads the config (every problem is printed at once and the agent does not start), then supervises apps, probes, balances and scales until SIGTERM or SIGINT. SIGHUP re-reads the config. SIGUSR2 restarts it without downtime (a successor from the same binary path takes over, as with `polis upgrade`). A second agent on the same data dir refuses to start unless it takes over with --takeover: it adopts the replicas, listens beside the running agent, and once it serves as many passing endpoints, the running one drains and exits (docs/reliability.md).",
  options: [
    { name: "config", short: "c", type: "string", value: "FILE", description: `config file (default: ./${DEFAULT_CONFIG})` },
    { name: "takeover", type: "boolean", description: "take the replicas and listeners over from the agent running on the same data dir" },
    { name: "recover", type: "boolean", description: "when <data_dir>/polis.db is not a usable database, move it aside (polis.db.corrupt-TIME) and start with an empty state" },
    { name: "takeover-timeout", type: "string", value: "DURATION", description: "with --takeover: give up and hand everything back when not caught up by then (default: 60s)" },
  ],
  examples: ["polis agent --config /etc/polis/agent.yaml", "polis agent --config /etc/polis/agent.yaml --takeover"],
  run: ({ opts }) =>
    runAgent({
      config: (opts.config as string | undefined) ?? DEFAULT_CONFIG,
      takeover: opts.takeover === true,
      recover: opts.recover === true,
      ...(typeof opts["takeover-timeout"] === "string" ? { takeoverTimeout: opts["takeover-timeout"] } : {}),
    }),
};

export const upgrade: CommandDef = {
  name: "upgrade",
  summary: "hitless upgrade: the running agent starts BINARY, which takes over",
  details: "Asks the agent running with the config's data dir (through <data_dir>/agent.sock) to check the config with `BINARY validate`, then start `BINARY agent --takeover` with its own config, environment and output. Prints the new agent's pid once it serves; the old one drains and exits, and the replicas keep running. Exit 1 (nothing changed) when the binary is missing, rejects the config, or fails to take over.",
  args: [{ name: "binary", description: "the new polis binary" }],
  options: [{ name: "config", short: "c", type: "string", value: "FILE", description: `the running agent's config (default: ./${DEFAULT_CONFIG})` }],
  examples: ["polis upgrade /usr/local/bin/polis-0.2.0 --config /etc/polis/agent.yaml"],
  run: ({ args, opts }) => runUpgrade(args.binary!, (opts.config as string | undefined) ?? DEFAULT_CONFIG),
};

export const validate: CommandDef = {
  name: "validate",
  summary: "check a config file and its policy files, and print every problem with its path",
  args: [{ name: "file", description: "the config file (YAML or JSON)" }],
  examples: ["polis validate config/agent.yaml"],
  run({ args, out }) {
    const r = check(args.file!, out);
    if (!r.ok) return 1;
    const c = r.loaded.config;
    // The policy files the agent would read with this config, validated as the one set a reload would install.
    const p = loadPolicyDir(policyDir(c.policies.dir, args.file!), { tasks: c.tasks.map((t) => t.name) });
    if (!p.ok) {
      for (const x of p.problems) out.line(`${x.file}: ${x.path}: ${x.message}`);
      out.line(`${p.problems.length} problem(s) in the policy files; the agent would refuse the whole set`);
      return 1;
    }
    out.line(`${r.loaded.source}: ok (${c.apps.length} apps, ${c.balancers.length} balancers, ${c.checks.length} checks, ${c.services.length} services, ${p.policies.length} policies)`);
    return 0;
  },
};

export const version: CommandDef = {
  name: "version",
  summary: "print the version",
  run({ out }) {
    out.line(`polis ${VERSION}`);
    return 0;
  },
};

export const demoApp: CommandDef = {
  name: "demo-app",
  summary: "a tiny HTTP app for demos and tests",
  details: "Serves GET / (a hello line naming the replica), /healthz and /work?ms=N (burns CPU). The port comes from --port, else PORT, else 3000.",
  options: [{ name: "port", type: "string", value: "N", description: "port to listen on (default: $PORT, else 3000)" }],
  run: ({ opts }) => runDemoApp(opts.port as string | undefined),
};

export const init: CommandDef = {
  name: "init",
  summary: "write a commented starter config",
  details: `Writes a config with one app (the built-in demo app, two replicas with a health check), an HTTP balancer in front of it, the admin API and DNS, each setting explained. The file is validated after writing. Default path: ./${DEFAULT_CONFIG}, which \`polis agent\` and the client commands read by default.`,
  args: [{ name: "file", description: `where to write it (default: ./${DEFAULT_CONFIG})`, optional: true }],
  options: [{ name: "force", type: "boolean", description: "replace an existing file" }],
  examples: ["polis init && polis agent", "polis init /etc/polis/agent.yaml"],
  run({ args, opts, out }) {
    const file = args.file ?? DEFAULT_CONFIG;
    const w = writeNewFile(file, STARTER_CONFIG, opts.force === true);
    if (!w.ok) {
      out.error(`polis init: ${w.reason}`);
      return 1;
    }
    const r = check(file, out);
    if (!r.ok) return 1;
    out.line(`wrote ${file} (${r.loaded.config.apps.length} app, ${r.loaded.config.balancers.length} balancer); start it with: polis agent --config ${file}`);
    return 0;
  },
};

/** The command line that starts this program: the compiled binary, or the runtime with the entry script. */
function selfCommand(): string[] {
  const compiled = Bun.main.startsWith("/$bunfs/") || Bun.main.startsWith("B:/~BUN/");
  return compiled ? [process.execPath] : [process.execPath, resolve(Bun.main)];
}

export const service: CommandDef = {
  name: "service",
  summary: "install a systemd unit that runs the agent",
  details:
    "Writes <unit-dir>/<name>.service running this binary (or --binary) with the config's absolute path, after checking the config. Then run `systemctl daemon-reload && systemctl enable --now polis`. The agent stops its replicas itself, so the unit uses KillMode=process: replicas survive an agent crash and are adopted when it restarts.",
  args: [{ name: "action", description: "what to do", choices: ["install"] }],
  options: [
    { name: "config", short: "c", type: "string", value: "FILE", description: `the agent's config (default: ./${DEFAULT_CONFIG})` },
    { name: "binary", type: "string", value: "PATH", description: "the polis binary the unit runs (default: this one)" },
    { name: "name", type: "string", value: "NAME", description: "unit name (default: polis)" },
    { name: "unit-dir", type: "string", value: "DIR", description: "where to write the unit (default: /etc/systemd/system)" },
    { name: "workdir", type: "string", value: "DIR", description: "the agent's working directory, against which relative paths in the config resolve (default: the current directory)" },
    { name: "user", type: "string", value: "USER", description: "run the agent as this user (default: root)" },
    { name: "print", type: "boolean", description: "print the unit instead of writing it" },
    { name: "force", type: "boolean", description: "replace an existing unit file" },
  ],
  examples: ["sudo polis service install --config /etc/polis/agent.yaml", "polis service install --print"],
  run({ opts, out }) {
    const name = (opts.name as string | undefined) ?? "polis";
    if (!/^[A-Za-z0-9@._-]+$/.test(name)) throw new UsageError(`--name must be a unit name (letters, digits, @ . _ -); got "${name}"`);
    const config = resolve((opts.config as string | undefined) ?? DEFAULT_CONFIG);
    if (!check(config, out).ok) return 1;
    const exec = opts.binary ? [resolve(opts.binary as string)] : selfCommand();
    const unit = renderUnit({ exec, config, workdir: resolve((opts.workdir as string | undefined) ?? process.cwd()), user: opts.user as string | undefined });
    if (opts.print) {
      out.write(unit);
      return 0;
    }
    const path = resolve((opts["unit-dir"] as string | undefined) ?? "/etc/systemd/system", `${name}.service`);
    const w = writeNewFile(path, unit, opts.force === true);
    if (!w.ok) {
      out.error(`polis service install: ${w.reason}`);
      return 1;
    }
    out.line(`wrote ${path} (runs ${exec.map((e) => basename(e)).join(" ")} agent --config ${config})`);
    out.line(`next: systemctl daemon-reload && systemctl enable --now ${name}`);
    return 0;
  },
};
