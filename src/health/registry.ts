// Probe kinds by name: builds the probe for a check from its kind and kind-specific options.
import type { Clock } from "../core/time.ts";
import { ProbeOptionsError, type Probe } from "./probe.ts";
import { createCommandProbe, type CommandProbeOptions } from "./probes/command.ts";
import { createFileProbe, type FileProbeOptions } from "./probes/file.ts";
import { createGrpcProbe, type GrpcProbeOptions } from "./probes/grpc.ts";
import { createHttpProbe, type HttpProbeOptions } from "./probes/http.ts";
import { createTcpProbe, type TcpProbeOptions } from "./probes/tcp.ts";
import { createTtlProbe, type TtlProbe, type TtlProbeOptions } from "./probes/ttl.ts";
import { createUdpProbe, type UdpProbeOptions } from "./probes/udp.ts";

export { PROBE_KINDS, type ProbeKind } from "../core/health/check-rules.ts";

export interface BuiltProbe {
  probe: Probe;
  /** Present for kind "ttl": where pushes go. */
  ttl?: TtlProbe;
}

/** Builds a probe; throws ProbeOptionsError naming the bad option. Options are checked by the factories. */
export function buildProbe(kind: string, options: Record<string, unknown> = {}, clock?: Clock): BuiltProbe {
  switch (kind) {
    case "http":
      return { probe: createHttpProbe(options as HttpProbeOptions) };
    case "https":
      return { probe: createHttpProbe({ ...(options as HttpProbeOptions), scheme: "https" }) };
    case "tcp":
      return { probe: createTcpProbe(options as TcpProbeOptions) };
    case "udp":
      return { probe: createUdpProbe(options as UdpProbeOptions) };
    case "grpc":
      return { probe: createGrpcProbe(options as GrpcProbeOptions) };
    case "command":
      return { probe: createCommandProbe(options as CommandProbeOptions) };
    case "file":
      return { probe: createFileProbe(options as FileProbeOptions) };
    case "ttl": {
      const ttl = createTtlProbe({ ...(options as unknown as TtlProbeOptions), clock: clock ?? (options.clock as Clock | undefined) });
      return { probe: ttl.probe, ttl };
    }
    default:
      throw new ProbeOptionsError("kind", `unknown probe kind "${kind}"`);
  }
}
