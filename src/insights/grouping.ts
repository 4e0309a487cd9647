// Grouping handed-off questions, pure: each new question joins the most similar group it may join,
// or starts a new one; and the most representative question of a group.
import { type Comparable, similarity } from './similarity.ts';

/** A question already in a group, as the grouping compares it. */
export type Placed = {
  groupId: string;
  askedAt: string;
  comparable: Comparable;
  /** Its group is open, or was closed (resolved or dismissed) at `closedAt`. */
  open: boolean;
  closedAt: string | null;
};

/** A question not grouped yet. */
export type Arriving = { messageId: string; askedAt: string; comparable: Comparable };

/** A question is compared with at most this many of the most recent members of each group. */
export const MEMBERS_COMPARED_PER_GROUP = 20;

/**
 * Places each arriving question, oldest first, in the group holding its most similar question
 * (above the threshold) among the groups it may join: open ones, and closed ones closed after it
 * was asked (it was part of what the resolution or dismissal dealt with). A question asked after
 * a group was closed never joins it: the Q&A did not help, so it must be seen again. Questions
 * placed earlier in the same call are candidates for later ones.
 *
 * `placed` comes most recent first; returns the group of each arriving question and the groups
 * made for them.
 */
export function placeQuestions(
  placed: readonly Placed[],
  arriving: readonly Arriving[],
  newGroupId: () => string,
): { groupOf: Map<string, string>; created: { id: string; createdAt: string }[] } {
  // Per group, its most recent members (placed comes most recent first).
  const groups = new Map<string, Placed[]>();
  for (const member of placed) {
    const members = groups.get(member.groupId) ?? [];
    if (members.length < MEMBERS_COMPARED_PER_GROUP) members.push(member);
    groups.set(member.groupId, members);
  }
  const groupOf = new Map<string, string>();
  const created: { id: string; createdAt: string }[] = [];
  const byAge = [...arriving].sort(
    (a, b) => a.askedAt.localeCompare(b.askedAt) || a.messageId.localeCompare(b.messageId),
  );
  for (const question of byAge) {
    let best: { groupId: string; score: number } | null = null;
    for (const [groupId, members] of groups) {
      const head = members[0] as Placed;
      if (!head.open && !(head.closedAt !== null && head.closedAt > question.askedAt)) continue;
      for (const member of members) {
        const { score, similar } = similarity(question.comparable, member.comparable);
        if (similar && (best === null || score > best.score)) best = { groupId, score };
      }
    }
    let groupId = best?.groupId;
    if (!groupId) {
      groupId = newGroupId();
      created.push({ id: groupId, createdAt: question.askedAt });
    }
    groupOf.set(question.messageId, groupId);
    const members = groups.get(groupId) ?? [];
    const self: Placed = { ...question, groupId, open: true, closedAt: null };
    // The newest member goes first; the group keeps its state (a closed group stays closed).
    const state = members[0] ? { open: members[0].open, closedAt: members[0].closedAt } : {};
    groups.set(groupId, [{ ...self, ...state }, ...members].slice(0, MEMBERS_COMPARED_PER_GROUP));
  }
  return { groupOf, created };
}

/** The medoid is looked for among at most this many questions of a group. */
export const REPRESENTATIVE_CANDIDATES_MAX = 50;

/**
 * The index of the most representative question: the one most similar to the others (highest
 * summed similarity), the first one on a tie (callers pass the most recent first).
 */
export function representativeIndex(comparables: readonly Comparable[]): number {
  const list = comparables.slice(0, REPRESENTATIVE_CANDIDATES_MAX);
  let best = 0;
  let bestScore = -Infinity;
  list.forEach((a, i) => {
    let score = 0;
    list.forEach((b, j) => {
      if (i !== j) score += similarity(a, b).score;
    });
    if (score > bestScore) {
      best = i;
      bestScore = score;
    }
  });
  return best;
}
