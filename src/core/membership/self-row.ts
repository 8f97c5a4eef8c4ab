/**
 * What a node does with a row about itself that arrives from elsewhere. Only the node writes its own
 * row, so a row about it that is newer than its own is either a statement by others (suspect, down,
 * left) or a trace of another process with its id:
 * - another address at this incarnation or later: a second process claims the id — a conflict to
 *   report, never to refute (two processes refuting each other would fight forever);
 * - a later incarnation: the node's record was lost or is older than the cluster's memory of it —
 *   take an incarnation above it;
 * - `left` at this incarnation: an operator removed the node; `left` at an earlier incarnation not
 *   older than the one its record started from: it was removed while it was away, and the data it
 *   restarted on is the removed node's (a node started on an empty directory has no record and may
 *   take the id again);
 * - suspect or down at a heartbeat it has reached: refute with a newer heartbeat.
 */
import { compareVersions, versionOf, type MemberEntry } from './member-entry.js';

export type SelfVerdict =
  | { kind: 'ignore' }
  | { kind: 'conflict' }
  | { kind: 'new-incarnation'; row: MemberEntry }
  | { kind: 'removed'; row: MemberEntry }
  | { kind: 'refute'; row: MemberEntry };

/**
 * @param mine the node's own row
 * @param incoming a row with the node's id, from a peer
 * @param recordIncarnation the incarnation in the record the node started from (undefined: none)
 */
export function judgeRowAboutSelf(mine: MemberEntry, incoming: MemberEntry, recordIncarnation: number | undefined): SelfVerdict {
  if (incoming.address !== mine.address && incoming.incarnation >= mine.incarnation) return { kind: 'conflict' };
  if (incoming.incarnation > mine.incarnation) return { kind: 'new-incarnation', row: { ...mine, incarnation: incoming.incarnation + 1, heartbeat: 1 } };
  if (mine.status === 'left') return { kind: 'ignore' };
  if (incoming.status === 'left') {
    const removedNow = incoming.incarnation === mine.incarnation;
    const removedWhileAway = incoming.incarnation < mine.incarnation && recordIncarnation !== undefined && incoming.incarnation >= recordIncarnation;
    if (removedNow || removedWhileAway) return { kind: 'removed', row: { ...mine, status: 'left', heartbeat: Math.max(mine.heartbeat, incoming.heartbeat) + 1 } };
  }
  if (incoming.incarnation < mine.incarnation || compareVersions(versionOf(incoming), versionOf(mine)) <= 0) return { kind: 'ignore' };
  return { kind: 'refute', row: { ...mine, heartbeat: incoming.heartbeat + 1 } };
}
