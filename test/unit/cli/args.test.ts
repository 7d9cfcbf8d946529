// Parsing a command line against a command's definition: help wins, unknown or missing input is a UsageError.
import { describe, expect, test } from "bun:test";
import { type CommandDef, parseCommand, parseDuration, UsageError, usage } from "../../../src/cli/args.ts";
import { allCommands } from "../../../src/cli/commands/index.ts";

const scaleLike: CommandDef = {
  name: "scale",
  summary: "set a count",
  args: [{ name: "app", description: "the app" }, { name: "replicas", description: "a count" }],
  options: [{ name: "for", type: "string", value: "DURATION", description: "hold" }, { name: "mode", type: "string", description: "m", choices: ["a", "b"] }],
  role: "operator",
  run: () => 0,
};

const usageError = (argv: string[]) => {
  try {
    parseCommand(scaleLike, argv);
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  throw new Error(`no usage error for ${argv.join(" ")}`);
};

describe("parseCommand", () => {
  test.each([[["demo", "3", "--help"]], [["demo", "3", "-h"]], [["-h"]], [["--bogus", "--help"]], [["demo", "--for"]].map((a) => [...a, "-h"])])("%p asks for help and nothing else", (argv) => {
    expect(parseCommand(scaleLike, argv).kind).toBe("help");
  });

  test("a help flag after -- is an argument, not a request for help", () => {
    expect(parseCommand(scaleLike, ["demo", "--", "-h"])).toMatchObject({ kind: "ok", args: { app: "demo", replicas: "-h" } });
  });

  test("arguments and options are read by name, in any order", () => {
    const p = parseCommand(scaleLike, ["--for=30m", "demo", "3", "--url", "http://127.0.0.1:1"]);
    expect(p).toEqual({ kind: "ok", args: { app: "demo", replicas: "3" }, opts: expect.objectContaining({ for: "30m", url: "http://127.0.0.1:1" }) });
  });

  test.each([
    [["demo", "3", "--bogus"], "Unknown option '--bogus'"],
    [["demo"], "missing argument REPLICAS"],
    [[], "missing argument APP"],
    [["demo", "3", "4"], 'unexpected argument "4"'],
    [["demo", "3", "--for"], "--for"],
    [["demo", "3", "--mode", "c"], '--mode must be one of a, b; got "c"'],
  ])("%p is a usage error: %s", (argv, message) => {
    expect(usageError(argv)).toContain(message);
  });

  test("the connection options exist only on commands that talk to the agent", () => {
    const local: CommandDef = { name: "init", summary: "s", run: () => 0 };
    expect(() => parseCommand(local, ["--url", "x"])).toThrow(UsageError);
    expect(parseCommand(scaleLike, ["a", "1", "--json"]).kind).toBe("ok");
  });
});

describe("usage", () => {
  test("names every argument and option, the help flag and the role", () => {
    const text = usage(scaleLike);
    expect(text).toStartWith("Usage: polis scale APP REPLICAS [options]\n");
    for (const s of ["APP", "REPLICAS", "--for DURATION", "--token TOKEN", "-h, --help", "operator role"]) expect(text).toContain(s);
  });

  test("every command in the table has a summary, and names its arguments and options once", () => {
    for (const c of allCommands()) {
      expect(c.summary.length).toBeGreaterThan(5);
      const names = (c.options ?? []).map((o) => o.name);
      expect(new Set(names).size).toBe(names.length);
      expect(usage(c)).toContain(`polis ${c.name}`);
    }
  });
});

describe("parseDuration", () => {
  test.each([
    ["500ms", 500],
    ["30s", 30_000],
    ["30", 30_000],
    ["10m", 600_000],
    ["1.5h", 5_400_000],
  ])("%s is %d ms", (text, ms) => {
    expect(parseDuration(text, "--for")).toBe(ms);
  });

  test.each(["", "10 minutes", "-5m", "5d", "m"])("%p is refused with the option's name", (text) => {
    expect(() => parseDuration(text, "--for")).toThrow(/--for must be a duration/);
  });
});
