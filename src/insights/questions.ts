// Grouping the handed-off questions of a read: the ones not grouped yet are compared (vectors
// cached per question, or lexically) and placed, in one transaction after any embedding.
import type { Database } from 'bun:sqlite';
import * as v from 'valibot';
import { Provenance } from '../answers/model.ts';
import type { BotTurn } from '../conversations/questions.ts';
import { type Embedder, embedderId } from '../embeddings/types.ts';
import type { Logger } from '../logging.ts';
import { type Arriving, placeQuestions } from './grouping.ts';
import type { Comparable } from './similarity.ts';
import { trigrams } from './similarity.ts';
import {
  insertGroup,
  insertMember,
  joinableMembers,
  type Member,
  membersOf,
  setVector,
} from './store.ts';

export type GroupingDeps = { db: Database; log: Logger; embedder: Embedder | null };

/** A new question is compared with at most this many of the chatbot's grouped questions (newest). */
export const JOINABLE_MEMBERS_MAX = 2_000;
/** Texts one read embeds at most (the newest questions first, then stale grouped ones). */
export const EMBEDDED_PER_READ_MAX = 256;
/** Texts per embedding request. */
const EMBED_BATCH = 64;

const Queries = v.pick(Provenance, ['standaloneQuery', 'lexicalQuery', 'translatedTo']);

/** The embedder whose vectors the groups compare (`embedderId`), or null: compared lexically. */
export const embeddingModel = (deps: GroupingDeps) =>
  deps.embedder ? embedderId(deps.embedder) : null;

/** The turns whose question is in no group yet. */
function ungrouped(db: Database, turns: readonly BotTurn[]): BotTurn[] {
  const grouped = new Set(
    membersOf(
      db,
      turns.map((t) => t.messageId),
    ).map((m) => m.messageId),
  );
  return turns.filter((t) => !grouped.has(t.messageId));
}

/**
 * The text a handed-off question is compared by: the query translated into the knowledge base's
 * language when the pipeline translated it (so questions group across languages), else the
 * standalone query (a follow-up rewritten with its context), else the question as asked.
 */
function comparedText(turn: BotTurn): string {
  const parsed = v.safeParse(Queries, turn.provenance);
  if (parsed.success) {
    const { translatedTo, lexicalQuery, standaloneQuery } = parsed.output;
    if (translatedTo && lexicalQuery.trim()) return lexicalQuery;
    if (standaloneQuery.trim()) return standaloneQuery;
  }
  return turn.question ?? '';
}

/** What a question is compared by: its trigrams, and its vector when it is of this embedder. */
export const comparableOf = (
  member: Pick<Member, 'compared' | 'vector' | 'vectorModel'>,
  model: string | null,
): Comparable => ({
  grams: trigrams(member.compared),
  vector: model !== null && member.vectorModel === model ? member.vector : null,
});

/** Embeds texts in batches; null (and a warning) when the embedder fails: compare lexically. */
async function embedAll(
  deps: GroupingDeps,
  embedder: Embedder,
  texts: string[],
): Promise<Float32Array[] | null> {
  const out: Float32Array[] = [];
  try {
    for (let i = 0; i < texts.length; i += EMBED_BATCH) {
      out.push(...(await embedder.embed(texts.slice(i, i + EMBED_BATCH), 'query')));
    }
    return out;
  } catch (err) {
    deps.log.warn({ err }, 'embedding questions failed: grouping them by their words');
    return null;
  }
}

/**
 * Places the handed-off questions among `turns` that are not in a group yet. With an embedder,
 * their vectors (and those of the grouped questions they are compared with, when not cached for
 * this embedder) are made first; then, with no await left, the grouping reads and writes in one
 * transaction, so two reads at once never group a question twice.
 */
export async function groupNewQuestions(
  deps: GroupingDeps,
  chatbotId: string,
  turns: readonly BotTurn[],
): Promise<void> {
  const { db } = deps;
  const asked = turns.filter((t) => t.question !== null);
  const fresh = ungrouped(db, asked);
  if (fresh.length === 0) return;
  const since = fresh.map((t) => t.at).sort()[0] as string;
  const model = embeddingModel(deps);

  // Vectors made outside the transaction, by message id.
  const made = new Map<string, Float32Array>();
  if (deps.embedder && model) {
    const stale = joinableMembers(db, chatbotId, since, JOINABLE_MEMBERS_MAX).filter(
      (m) => m.vectorModel !== model,
    );
    // Bounded per read, so no read waits for thousands: the rest are compared by their words now
    // and embedded with the next new question (a member without this model's vector is stale).
    const items = [
      ...fresh.map((t) => ({ id: t.messageId, text: comparedText(t) })),
      ...stale.map((m) => ({ id: m.messageId, text: m.compared })),
    ].slice(0, EMBEDDED_PER_READ_MAX);
    const vectors = await embedAll(
      deps,
      deps.embedder,
      items.map((i) => i.text),
    );
    items.forEach((item, i) => {
      const vector = vectors?.[i];
      if (vector) made.set(item.id, vector);
    });
  }

  db.transaction(() => {
    // Another read may have grouped some of them while this one embedded.
    const arriving = ungrouped(db, fresh);
    if (arriving.length === 0) return;
    const placed = joinableMembers(db, chatbotId, since, JOINABLE_MEMBERS_MAX).map((stored) => {
      const vector = made.get(stored.messageId);
      const fresher = vector && model && stored.vectorModel !== model;
      if (fresher) setVector(db, stored.messageId, vector, model);
      const member = fresher ? { ...stored, vector, vectorModel: model } : stored;
      return {
        groupId: member.groupId,
        askedAt: member.askedAt,
        comparable: comparableOf(member, model),
        open: member.state === 'open',
        closedAt: member.closedAt,
      };
    });
    const members = new Map<string, Omit<Member, 'groupId'>>();
    const questions: Arriving[] = arriving.map((turn) => {
      const vector = made.get(turn.messageId) ?? null;
      const member = {
        messageId: turn.messageId,
        question: turn.question ?? '',
        compared: comparedText(turn),
        askedAt: turn.at,
        vector,
        vectorModel: vector ? model : null,
      };
      members.set(turn.messageId, member);
      return {
        messageId: turn.messageId,
        askedAt: turn.at,
        comparable: comparableOf(member, model),
      };
    });
    const newId = () => `grp_${crypto.randomUUID().replaceAll('-', '')}`;
    const { groupOf, created } = placeQuestions(placed, questions, newId);
    for (const group of created) insertGroup(db, chatbotId, group.id, group.createdAt);
    for (const [messageId, groupId] of groupOf) {
      insertMember(db, chatbotId, { ...(members.get(messageId) as Member), groupId });
    }
  })();
}
