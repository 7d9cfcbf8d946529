// Finds replicas of an app that run without a record (their agent's store was lost): process-group leaders whose
// environment names this agent (POLIS_OWNER, its log dir) and the app (POLIS_APP, POLIS_REPLICA). Read once per
// app when its spec is first applied, so a replica still holding its port is adopted, never started twice.
import { readFileSync } from "node:fs";
import type { AdoptRecord } from "../protocol/procs.ts";
import { liveProcesses } from "./proc-stat.ts";

/** The variable that ties a replica to the agent that started it (set in every replica's environment). */
export const OWNER_ENV = "POLIS_OWNER";

/** The revision a replica runs (set in its environment by the agent that started it). */
export const REVISION_ENV = "POLIS_REVISION";

/** The revision named in a live process's environment, or 0 when it names none (started before revisions). */
export function revisionOfPid(pid: number): number {
  const n = Number(environOf(pid)?.get(REVISION_ENV));
  return Number.isInteger(n) && n > 0 ? n : 0;
}

export function environOf(pid: number): Map<string, string> | null {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/environ`, "latin1");
  } catch {
    // Gone, or not ours to read.
    return null;
  }
  const env = new Map<string, string>();
  for (const kv of raw.split("\0")) {
    const eq = kv.indexOf("=");
    if (eq > 0) env.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return env;
}

export function findOrphans(owner: string, app: string, portEnv: string, known: ReadonlySet<number>): AdoptRecord[] {
  const out: AdoptRecord[] = [];
  for (const st of liveProcesses()) {
    const pid = st.pid;
    // Only a group leader is a replica (we spawn each detached); its children share its environment.
    if (pid <= 1 || pid === process.pid || known.has(pid) || st.pgrp !== pid) continue;
    const env = environOf(pid);
    if (!env || env.get(OWNER_ENV) !== owner || env.get("POLIS_APP") !== app) continue;
    const id = Number(env.get("POLIS_REPLICA"));
    if (!Number.isInteger(id) || id < 0) continue;
    const port = Number(env.get(portEnv));
    out.push({ app, id, pid, startTime: st.startTime, port: Number.isInteger(port) && port > 0 ? port : null });
  }
  return out.sort((a, b) => a.id - b.id || a.startTime - b.startTime);
}
