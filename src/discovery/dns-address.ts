// Address helpers for DNS answers: the family of an endpoint address and the hex host label SRV targets use.
//
// SRV targets are `<hex of the address>.addr.<domain>` (8 hex digits for IPv4, 32 for IPv6), the
// scheme Consul uses: the name carries the address, so it resolves without a catalog lookup and
// stays valid after the endpoint is gone. Endpoint ids are not used because they need not be
// valid DNS labels ("10.0.0.7:8080") and would need an id index in the catalog view.
import { isIP } from "node:net";

/** 4, 6, or 0 when the address is not an IP literal (host names are not answered). */
export function addressFamily(address: string): 0 | 4 | 6 {
  const f = isIP(address);
  return f === 4 || f === 6 ? f : 0;
}

/** Hex label for an IP literal: "10.0.0.7" -> "0a000007"; IPv6 is expanded to 32 digits. */
export function addressLabel(address: string): string | undefined {
  const family = addressFamily(address);
  if (family === 4) return address.split(".").map((p) => Number(p).toString(16).padStart(2, "0")).join("");
  if (family === 6) return expandIpv6(address);
  return undefined;
}

function expandIpv6(address: string): string {
  let text = address.toLowerCase();
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  // A trailing dotted quad ("::ffff:1.2.3.4") stands for the last two groups.
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    const hex = addressLabel(tail) ?? "00000000";
    text = `${text.slice(0, lastColon + 1)}${hex.slice(0, 4)}:${hex.slice(4)}`;
  }
  const [head, rest] = text.split("::") as [string, string | undefined];
  const left = head === "" ? [] : head.split(":");
  const right = rest === undefined || rest === "" ? [] : rest.split(":");
  const missing = 8 - left.length - right.length;
  const groups = rest === undefined ? left : [...left, ...Array<string>(missing).fill("0"), ...right];
  return groups.map((g) => g.padStart(4, "0")).join("");
}
