// Question type and rcode read from answer bytes for the DNS metrics, on real encoded messages.
import { describe, expect, test } from "bun:test";
import packet from "dns-packet";
import { questionType, responseCode } from "../../../src/discovery/dns-observe.ts";

const RCODES: Record<string, number> = { NOERROR: 0, NXDOMAIN: 3, REFUSED: 5 };
// The rcode is the low 4 bits of the flags word.
const answer = (type: string, rcode: string) =>
  new Uint8Array(packet.encode({ type: "response", id: 1, flags: RCODES[rcode]!, questions: [{ type, name: "demo.polis" }] } as never));

describe("DNS answer observation", () => {
  const cases: Array<[string, string]> = [
    ["A", "NOERROR"],
    ["AAAA", "NXDOMAIN"],
    ["SRV", "NOERROR"],
    ["TXT", "REFUSED"],
  ];
  test.each(cases)("an answer to %s with %s reads back as such", (type, rcode) => {
    const msg = answer(type, rcode);
    expect([questionType(msg), responseCode(msg)]).toEqual([type, rcode]);
  });

  test("a message with no question, or cut short, is 'none' (contrast case)", () => {
    expect(questionType(new Uint8Array(packet.encode({ type: "response", id: 1, flags: 0, questions: [] } as never)))).toBe("none");
    expect(questionType(answer("A", "NOERROR").subarray(0, 14))).toBe("none");
    expect(responseCode(new Uint8Array(2))).toBe("none");
  });
});
