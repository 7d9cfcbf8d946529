// Colour and symbols only on a terminal, NO_COLOR honoured; local times with the date when not today.
import { describe, expect, test } from "bun:test";
import { createStyle, formatTime, visible } from "../../../src/cli/output.ts";
import { table } from "../../../src/cli/table.ts";

const ESC = "\x1b[";

describe("createStyle", () => {
  test("not a terminal: neither colour nor symbols", () => {
    const s = createStyle({ tty: false, env: {} });
    expect(s.state("crash-loop")).toBe("crash-loop");
    expect(s.green("x")).toBe("x");
  });

  test("a terminal: colour and a symbol per state class", () => {
    const s = createStyle({ tty: true, env: {} });
    expect(s.state("ok")).toBe(`${ESC}32m✓ ok${ESC}0m`);
    expect(s.state("degraded")).toContain("! degraded");
    expect(s.state("crash-loop")).toContain("✗ crash-loop");
    expect(s.state("passing (flapping)")).toContain("✓ passing (flapping)");
  });

  test("NO_COLOR on a terminal: symbols stay, colour goes", () => {
    const s = createStyle({ tty: true, env: { NO_COLOR: "1" } });
    expect(s.state("ok")).toBe("✓ ok");
    expect(s.red("x")).toBe("x");
  });

  test("an empty NO_COLOR does not disable colour (no-color.org)", () => {
    expect(createStyle({ tty: true, env: { NO_COLOR: "" } }).color).toBe(true);
  });
});

describe("formatTime", () => {
  const now = new Date(2026, 11, 1, 15, 4, 5).getTime(); // local time
  test("today: the time only, in the local zone", () => {
    expect(formatTime(new Date(2026, 11, 1, 9, 3, 7).getTime(), now)).toBe("09:03:07");
  });
  test("another day: with the date", () => {
    expect(formatTime(new Date(2026, 10, 30, 23, 59, 59).getTime(), now)).toBe("2026-11-30 23:59:59");
  });
  test("no time: a dash", () => {
    expect(formatTime(undefined, now)).toBe("-");
    expect(formatTime(Number.NaN, now)).toBe("-");
  });
});

test("table pads by printed width, so coloured cells line up with plain ones", () => {
  const s = createStyle({ tty: true, env: {} });
  const lines = table(["app", "state"], [["a", s.state("ok")], ["bb", "plain"]]).split("\n").map(visible);
  expect(lines).toEqual(["APP  STATE", "a    ✓ ok", "bb   plain"]);
});
