// Unanswered questions: the report of a period (groups of handed-off questions, low-confidence
// answers), and what a support lead does with a group: turn it into a Q&A source, or dismiss it.
import type { Database } from 'bun:sqlite';
import { getChatbot } from '../chatbots/service.ts';
import type { Clock } from '../clock.ts';
import { type BotTurn, botTurns, operatorRepliesAfter } from '../conversations/questions.ts';
import { AppError, notFound } from '../errors.ts';
import { createInlineSource } from '../sources/inline.ts';
import type { Source } from '../sources/model.ts';
import type { SourcesDeps } from '../sources/types.ts';
import { representativeIndex } from './grouping.ts';
import { lowConfidence, type ScoreMinimums } from './low-confidence.ts';
import type { GroupQaBody, UnansweredGroup, UnansweredReport } from './model.ts';
import { comparableOf, embeddingModel, type GroupingDeps, groupNewQuestions } from './questions.ts';
import {
  closeGroup,
  findGroup,
  type GroupedMember,
  groupMembers,
  membersOf,
  reopenGroup,
  setGroupSource,
} from './store.ts';

export type InsightsDeps = GroupingDeps & { clock: Clock; sources: SourcesDeps };

/** Handoffs (and answers) one read scans: the newest in the period. */
export const TURNS_SCANNED_MAX = 500;
const EXAMPLES_MAX = 5;
const SESSIONS_MAX = 20;
/** The members a Q&A made from a group is chosen among (its most recent). */
const QA_MEMBERS_MAX = 100;
/** A Q&A source's limits (src/sources/model.ts): a longer question or reply is cut. */
const QA_QUESTION_CHARS_MAX = 2_000;
const QA_ANSWER_CHARS_MAX = 100_000;

/**
 * The questions in the order to show them: the most representative first, then the others
 * newest first, each text once (case and spacing aside).
 */
function examplesOf(deps: GroupingDeps, members: GroupedMember[], max: number): string[] {
  const model = embeddingModel(deps);
  const first = representativeIndex(members.map((m) => comparableOf(m, model)));
  const ordered = [members[first], ...members.filter((_, i) => i !== first)];
  const seen = new Set<string>();
  const out: string[] = [];
  for (const member of ordered) {
    const key = member?.question.trim().replace(/\s+/g, ' ').toLowerCase();
    if (!member || !key || seen.has(key)) continue;
    seen.add(key);
    out.push(member.question);
    if (out.length === max) break;
  }
  return out;
}

/** The operator's reply to the most recent of these handoffs that got one (newest first). */
function suggestedAnswer(db: Database, messageIds: string[]): string | null {
  const replies = operatorRepliesAfter(db, messageIds);
  for (const id of messageIds) {
    const reply = replies.get(id);
    if (reply) return reply;
  }
  return null;
}

/** Groups the period's handoffs by their (open) group, most frequent first. */
function openGroups(deps: GroupingDeps, handoffs: BotTurn[]): UnansweredGroup[] {
  const members = new Map(
    membersOf(
      deps.db,
      handoffs.map((t) => t.messageId),
    ).map((m) => [m.messageId, m]),
  );
  const groups = new Map<string, { turns: BotTurn[]; members: GroupedMember[] }>();
  for (const turn of handoffs) {
    const member = members.get(turn.messageId);
    if (member?.state !== 'open') continue;
    const group = groups.get(member.groupId) ?? { turns: [], members: [] };
    group.turns.push(turn);
    group.members.push(member);
    groups.set(member.groupId, group);
  }
  return [...groups]
    .map(([id, { turns, members: grouped }]) => ({
      id,
      count: turns.length,
      examples: examplesOf(deps, grouped, EXAMPLES_MAX),
      lastSeenAt: turns[0]!.at,
      sessionIds: [...new Set(turns.map((t) => t.sessionId))].slice(0, SESSIONS_MAX),
      suggestedAnswer: suggestedAnswer(
        deps.db,
        turns.map((t) => t.messageId),
      ),
    }))
    .sort(
      (a, b) =>
        b.count - a.count || b.lastSeenAt.localeCompare(a.lastSeenAt) || a.id.localeCompare(b.id),
    );
}

/**
 * The report of a period: the newest handoffs for lack of an answer, grouped (the ones not grouped
 * yet are placed first), and the answers given on a weak best passage.
 */
export async function unansweredReport(
  deps: GroupingDeps,
  chatbotId: string,
  range: { from: Date; to: Date },
  minimums: ScoreMinimums,
): Promise<UnansweredReport> {
  getChatbot(deps.db, chatbotId);
  const period = { from: range.from.toISOString(), to: range.to.toISOString() };
  const handoffs = botTurns(deps.db, chatbotId, period, {
    handoff: 'no_answer',
    limit: TURNS_SCANNED_MAX,
  });
  await groupNewQuestions(deps, chatbotId, handoffs.turns);
  const answers = botTurns(deps.db, chatbotId, period, {
    handoff: null,
    limit: TURNS_SCANNED_MAX,
  });
  return {
    groups: openGroups(deps, handoffs.turns),
    lowConfidence: lowConfidence(answers.turns, minimums),
    ...period,
    truncated: handoffs.more || answers.more,
  };
}

/** The group, open; 404 when the chatbot or the group is unknown, 409 when it is closed. */
function openGroup(db: Database, chatbotId: string, groupId: string) {
  getChatbot(db, chatbotId);
  const group = findGroup(db, chatbotId, groupId);
  if (!group) throw notFound('Group');
  if (group.state !== 'open') {
    throw new AppError('CONFLICT', `The group is already ${group.state}`);
  }
  return group;
}

/**
 * Adds a Q&A source made from the group (its representative question and suggested answer unless
 * the body gives them) and marks the group resolved, linked to the source. The group is closed
 * before the source is added, so two calls at once add one source; it opens again if adding fails.
 */
export async function resolveWithQa(
  deps: InsightsDeps,
  chatbotId: string,
  groupId: string,
  body: GroupQaBody,
): Promise<Source> {
  const group = openGroup(deps.db, chatbotId, groupId);
  const members = groupMembers(deps.db, group.id, QA_MEMBERS_MAX);
  const question =
    body?.question ?? examplesOf(deps, members, 1)[0]?.slice(0, QA_QUESTION_CHARS_MAX).trim() ?? '';
  const answer =
    body?.answer ??
    suggestedAnswer(
      deps.db,
      members.map((m) => m.messageId),
    )?.slice(0, QA_ANSWER_CHARS_MAX);
  if (!question) throw new AppError('VALIDATION_FAILED', 'question: the group has no question');
  if (!answer?.trim()) {
    throw new AppError(
      'VALIDATION_FAILED',
      'answer: no operator replied to these questions; send {"answer": "…"}',
    );
  }
  if (!closeGroup(deps.db, group.id, 'resolved', new Date(deps.clock.now()))) {
    throw new AppError('CONFLICT', 'The group was closed meanwhile');
  }
  try {
    const source = await createInlineSource(deps.sources, chatbotId, {
      type: 'qa',
      question,
      answer,
    });
    setGroupSource(deps.db, group.id, source.id);
    return source;
  } catch (e) {
    reopenGroup(deps.db, group.id);
    throw e;
  }
}

/** Dismisses an open group (its questions leave the list); dismissing it again changes nothing. */
export function dismissGroup(deps: InsightsDeps, chatbotId: string, groupId: string): void {
  getChatbot(deps.db, chatbotId);
  const group = findGroup(deps.db, chatbotId, groupId);
  if (!group) throw notFound('Group');
  if (group.state === 'dismissed') return;
  if (group.state === 'resolved') throw new AppError('CONFLICT', 'The group is already resolved');
  closeGroup(deps.db, group.id, 'dismissed', new Date(deps.clock.now()));
}
