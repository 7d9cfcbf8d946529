// `polis service install`: the systemd unit that runs the agent. packaging/polis.service is this renderer's output for
// the packaged paths (a test keeps them equal and runs systemd-analyze verify on both).

export interface UnitOptions {
  /** The command that starts polis: the binary, or the runtime and the entry script when not compiled. */
  readonly exec: readonly string[];
  readonly config: string;
  readonly workdir: string;
  readonly user?: string | undefined;
}

export const PACKAGED_UNIT: UnitOptions = { exec: ["/usr/local/bin/polis"], config: "/etc/polis/agent.yaml", workdir: "/var/lib/polis" };

/** systemd splits ExecStart on spaces: quote a word that has one (paths with spaces do happen). */
const word = (s: string) => (/[\s"'\\]/.test(s) ? `"${s.replace(/(["\\])/g, "\\$1")}"` : s);

export function renderUnit(o: UnitOptions): string {
  const lines = [
    "# Polis edge agent, as a systemd service. Written by `polis service install`; edit the paths here or",
    "# re-run it with --config / --binary. Reload the config with `systemctl reload polis` (SIGHUP).",
    "[Unit]",
    "Description=Polis edge agent (supervision, health checks, load balancing, autoscaling)",
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${[...o.exec, "agent", "--config", o.config].map(word).join(" ")}`,
    "ExecReload=/bin/kill -HUP $MAINPID",
    `WorkingDirectory=${word(o.workdir)}`,
    ...(o.workdir.startsWith("/var/lib/") ? [`StateDirectory=${o.workdir.slice("/var/lib/".length)}`] : []),
    ...(o.user ? [`User=${o.user}`] : []),
    "# The agent stops its replicas itself on SIGTERM; if it crashes they keep serving and the restarted agent",
    "# adopts them, so systemd signals only the agent.",
    "KillMode=process",
    "KillSignal=SIGTERM",
    "TimeoutStopSec=60s",
    "Restart=on-failure",
    "RestartSec=1s",
    "LimitNOFILE=65536",
    "# Its own CPU cgroup: the kernel's per-session autogroups apply only in the root one, where a replica's own",
    "# session (setsid) makes its start under load ~3x slower (docs/benchmarks.md, restart latency).",
    "CPUAccounting=yes",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
  ];
  return `${lines.join("\n")}\n`;
}
