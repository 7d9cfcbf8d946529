// grpc.health.v1.Health on the admin gRPC listener: "" and every polis.v1 service report the agent's readiness.
import * as grpc from "@grpc/grpc-js";
import { fromJSON, type ServiceDefinition } from "@grpc/proto-loader";
import protobuf from "protobufjs";

const HEALTH_PROTO = `
syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
  ServingStatus status = 1;
}
service Health {
  rpc Check(HealthCheckRequest) returns (HealthCheckResponse);
  rpc Watch(HealthCheckRequest) returns (stream HealthCheckResponse);
}
`;

export type HealthStatus = "SERVING" | "NOT_SERVING";

/** How often a Watch looks at readiness again: readiness changes rarely and a watcher wants to hear within seconds. */
const WATCH_POLL_MS = 1000;

/** Readiness is read again on every Check; Watch streams get the first status at once and then every change. */
export function addHealthService(server: grpc.Server, services: readonly string[], status: () => HealthStatus): { stop(): void } {
  const root = protobuf.parse(HEALTH_PROTO, { keepCase: true }).root;
  const def = fromJSON(root.toJSON(), { keepCase: true, enums: String, defaults: true })["grpc.health.v1.Health"] as ServiceDefinition;
  const known = new Set(["", ...services]);
  const watchers = new Set<() => void>();
  const timer = setInterval(() => {
    for (const w of watchers) w();
  }, WATCH_POLL_MS);
  timer.unref?.();
  server.addService(def as unknown as grpc.ServiceDefinition, {
    Check(call: grpc.ServerUnaryCall<{ service: string }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      if (!known.has(call.request.service)) return cb({ code: grpc.status.NOT_FOUND, details: `unknown service "${call.request.service}"` });
      cb(null, { status: status() });
    },
    Watch(call: grpc.ServerWritableStream<{ service: string }, unknown>) {
      let last: string | undefined;
      const push = () => {
        const now = known.has(call.request.service) ? status() : "SERVICE_UNKNOWN";
        if (now !== last) call.write({ status: now });
        last = now;
      };
      push();
      watchers.add(push);
      const end = () => watchers.delete(push);
      call.on("cancelled", end);
      call.on("close", end);
    },
  });
  return {
    stop() {
      clearInterval(timer);
      watchers.clear();
    },
  };
}
