/**
 * Names of what one harness run creates, all derived from its run id (`rkc<pid of the launching
 * process>`), so a later run can find and remove what a killed run left behind.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const RUN_ID_PATTERN = /^rkc(\d+)$/;

/** every node process and the in-namespace harness carry RINGKV_CHAOS_RUN=<run id> in their environment */
export const RUN_ENV = 'RINGKV_CHAOS_RUN';

export function newRunId(pid = process.pid): string {
  return `rkc${pid}`;
}

/** the namespace that holds the bridge and the harness's own clients */
export function hubNamespace(runId: string): string {
  return `${runId}-hub`;
}

export function nodeNamespace(runId: string, nodeId: string): string {
  return `${runId}-${nodeId}`;
}

/** data directories (each a tmpfs mount), clock files, the run's scratch space */
export function runDirectory(runId: string): string {
  return join(tmpdir(), `ringkv-chaos-${runId}`);
}

/** the run id a namespace name belongs to, if it is one of ours */
export function runIdOfNamespace(ns: string): string | undefined {
  const m = /^(rkc\d+)-/.exec(ns);
  return m ? m[1] : undefined;
}

export const SUBNET_PREFIX = '10.77.0';
export const HUB_ADDRESS = `${SUBNET_PREFIX}.1`;

/** node n<i> gets 10.77.0.<10+i>; the addresses exist only inside the run's namespaces */
export function nodeAddress(index: number): string {
  if (index < 1 || index > 200) throw new Error(`node index ${index} out of range 1..200`);
  return `${SUBNET_PREFIX}.${10 + index}`;
}
