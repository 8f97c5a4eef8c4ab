/**
 * A removal that reaches a node knowing a later life of the removed member.
 *
 * An operator's remove says `left` at the incarnation the remover's table knows. That can be older
 * than the member's real last life: a remover that never heard from the member holds the
 * configuration placeholder (incarnation 0) while the others gossiped with its life at incarnation 1.
 * Under the merge order (member-entry.ts) the later life beats the removal, so the removal would be
 * lost everywhere, the dead member would be a member again and ring readiness would wait for it for
 * ever (membership seeds 1072 and 1570).
 *
 * So a node that knew the later life before it heard of the removal applies the removal to that life
 * (`left` at the incarnation it knows), which then wins everywhere. A life it only heard of after the
 * removal is left alone: that one may have started after it (a node restarted on an empty directory
 * takes the id again with a higher incarnation). `left` at an incarnation means every life up to it
 * is gone, so the upgraded removal also tells a restart on the removed life's data that it was removed
 * (self-row.ts).
 */
import type { MemberEntry } from './member-entry.js';

/**
 * The row to assert when `incoming` is a removal (or a finished leave) older than the life `mine`
 * holds; undefined when the ordinary merge applies.
 * @param removalSeen the highest incarnation of a `left` row of this member this node held or received before (undefined: none)
 */
export function removalOfKnownLife(mine: MemberEntry | undefined, incoming: MemberEntry, removalSeen: number | undefined): MemberEntry | undefined {
  if (mine === undefined || incoming.status !== 'left' || mine.status === 'left') return undefined;
  if (incoming.incarnation >= mine.incarnation) return undefined;
  if (removalSeen !== undefined && removalSeen >= incoming.incarnation) return undefined;
  return { ...mine, status: 'left' };
}
