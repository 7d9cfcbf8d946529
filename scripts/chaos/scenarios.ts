// Every chaos scenario, in the order `npm run chaos` runs them.
import type { Scenario } from "./_harness.ts";
import { agentSigkill, takeoverUnderLoad } from "./agent-kill.ts";
import { apiFuzz } from "./api-fuzz.ts";
import { configFuzz } from "./config-fuzz.ts";
import { deletedDataDir, diskFull } from "./data-dir.ts";
import { dnsAbuse } from "./dns-abuse.ts";
import { replicaKillLoop } from "./replica-kill-loop.ts";
import { blackHoleUpstream, stoppedReplica } from "./stopped-replica.ts";
import { balancerWorkerCrash, controlWorkerCrash } from "./worker-crash.ts";

export const SCENARIOS: readonly Scenario[] = [
  replicaKillLoop,
  takeoverUnderLoad,
  agentSigkill,
  controlWorkerCrash,
  balancerWorkerCrash,
  stoppedReplica,
  blackHoleUpstream,
  deletedDataDir,
  diskFull,
  dnsAbuse,
  apiFuzz,
  configFuzz,
];
