// Shell completion scripts (bash, zsh, fish), generated from the command table so they cannot drift from it.
import { type CommandDef, optionsOf } from "./args.ts";

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

const FILE_VALUES = new Set(["FILE", "PATH", "DIR"]);

export function completionScript(shell: Shell, commands: readonly CommandDef[]): string {
  if (shell === "bash") return bash(commands);
  if (shell === "zsh") return zsh(commands);
  return fish(commands);
}

function bash(commands: readonly CommandDef[]): string {
  const cases = commands.map((c) => {
    const opts = optionsOf(c).flatMap((o) => [`--${o.name}`, ...(o.name === "follow" ? ["--no-follow"] : []), ...(o.short ? [`-${o.short}`] : [])]);
    const words = (c.args ?? []).flatMap((a) => a.choices ?? []);
    const values = optionsOf(c)
      .filter((o) => o.type === "string")
      .map((o) => `      --${o.name}${o.short ? `|-${o.short}` : ""}) ${o.choices ? `COMPREPLY=($(compgen -W "${o.choices.join(" ")}" -- "$cur"))` : FILE_VALUES.has(o.value ?? "") ? `COMPREPLY=($(compgen -f -- "$cur"))` : "COMPREPLY=()"}; return ;;`);
    return `    ${c.name})\n      case "$prev" in\n${values.join("\n")}${values.length ? "\n" : ""}      esac\n      opts="${opts.join(" ")}"; words="${words.join(" ")}" ;;`;
  });
  return `# bash completion for polis. Load it with: source <(polis completion bash)
_polis() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" opts="" words=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${commands.map((c) => c.name).join(" ")}" -- "$cur"))
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases.join("\n")}
    *) return ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [ -n "$words" ]; then
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F _polis polis
`;
}

/** zsh's _arguments specs use [ ] : as syntax; descriptions are quoted in single quotes. */
const zq = (s: string) => s.replace(/[[\]]/g, "").replace(/:/g, "\\:").replace(/'/g, "'\\''");

function zsh(commands: readonly CommandDef[]): string {
  const list = commands.map((c) => `    '${c.name}:${zq(c.summary)}'`).join("\n");
  const cases = commands.map((c) => {
    const specs = optionsOf(c).map((o) => {
      const names = o.short ? `{-${o.short},--${o.name}}` : `--${o.name}`;
      const excl = o.short ? `'(-${o.short} --${o.name})'` : "";
      const action = o.type === "string" ? `:${o.value ?? "VALUE"}:${o.choices ? `(${o.choices.join(" ")})` : FILE_VALUES.has(o.value ?? "") ? "_files" : " "}` : "";
      return `${excl}${names}'[${zq(o.description)}]${action}'`;
    });
    const args = (c.args ?? []).map((a, i) => `'${a.optional ? ":" : ""}${i + 1}:${a.name}:${a.choices ? `(${a.choices.join(" ")})` : c.name === "validate" || c.name === "init" ? "_files" : " "}'`);
    return `    ${c.name}) _arguments ${[...specs, ...args].join(" ")} ;;`;
  });
  return `#compdef polis
# zsh completion for polis. Load it with: source <(polis completion zsh)  (after compinit)
_polis() {
  local -a commands
  commands=(
${list}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  local cmd=$words[2]
  shift words
  (( CURRENT-- ))
  case $cmd in
${cases.join("\n")}
  esac
}
compdef _polis polis
`;
}

const fq = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

function fish(commands: readonly CommandDef[]): string {
  const lines = ["# fish completion for polis. Load it with: polis completion fish | source", "complete -c polis -f"];
  for (const c of commands) lines.push(`complete -c polis -n __fish_use_subcommand -a ${c.name} -d ${fq(c.summary)}`);
  for (const c of commands) {
    const when = `-n ${fq(`__fish_seen_subcommand_from ${c.name}`)}`;
    for (const o of optionsOf(c)) {
      const value = o.type === "string" ? (o.choices ? ` -x -a ${fq(o.choices.join(" "))}` : FILE_VALUES.has(o.value ?? "") ? " -r -F" : " -x") : "";
      lines.push(`complete -c polis ${when}${o.short ? ` -s ${o.short}` : ""} -l ${o.name}${value} -d ${fq(o.description)}`);
    }
    const choices = (c.args ?? []).flatMap((a) => a.choices ?? []);
    if (choices.length) lines.push(`complete -c polis ${when} -a ${fq(choices.join(" "))}`);
    if (c.name === "validate" || c.name === "init") lines.push(`complete -c polis ${when} -F`);
  }
  return `${lines.join("\n")}\n`;
}
