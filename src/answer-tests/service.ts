// The `answer_tests` table, its only owner: add (by hand, or from a real conversation turn), list,
// read, remove. Plain functions; the times they store come from the app clock.
import type { Database } from 'bun:sqlite';
import * as v from 'valibot';
import { capMessage, Provenance } from '../answers/model.ts';
import { getChatbot } from '../chatbots/service.ts';
import type { Clock } from '../clock.ts';
import { botReplyTo, findMessage } from '../conversations/service.ts';
import { AppError, notFound } from '../errors.ts';
import { listSources } from '../sources/service.ts';
import {
  type AnswerTest,
  type CreateTestBody,
  type Expect,
  type LastResult,
  TESTS_PER_CHATBOT_MAX,
} from './model.ts';
import { lastResults } from './store.ts';

type Row = {
  id: string;
  chatbot_id: string;
  question: string;
  expect: Expect;
  must_cite: string;
  must_contain: string;
  must_not_contain: string;
  language: string | null;
  from_message_id: string | null;
  created_at: string;
};

/** A test as the run needs it (no last result). */
export type TestSpec = Omit<AnswerTest, 'lastResult'>;

const newId = () => `test_${crypto.randomUUID().replaceAll('-', '')}`;
const invalid = (message: string) => new AppError('VALIDATION_FAILED', `Invalid body: ${message}`);

function toSpec(row: Row): TestSpec {
  return {
    id: row.id,
    question: row.question,
    expect: row.expect,
    mustCite: JSON.parse(row.must_cite) as string[],
    mustContain: JSON.parse(row.must_contain) as string[],
    mustNotContain: JSON.parse(row.must_not_contain) as string[],
    language: row.language,
    fromMessageId: row.from_message_id,
    createdAt: row.created_at,
  };
}

const withResult = (spec: TestSpec, last: Map<string, LastResult>): AnswerTest => ({
  ...spec,
  lastResult: last.get(spec.id) ?? null,
});

/** A chatbot's tests in the order they were added (the order a run takes them in). */
export function testSpecs(db: Database, chatbotId: string): TestSpec[] {
  return db
    .query<Row, [string]>('SELECT * FROM answer_tests WHERE chatbot_id = ? ORDER BY rowid')
    .all(chatbotId)
    .map(toSpec);
}

export function countTests(db: Database, chatbotId: string): number {
  return (
    db
      .query<{ n: number }, [string]>('SELECT COUNT(*) AS n FROM answer_tests WHERE chatbot_id = ?')
      .get(chatbotId)?.n ?? 0
  );
}

export function listTests(db: Database, chatbotId: string): AnswerTest[] {
  getChatbot(db, chatbotId);
  const last = lastResults(db, chatbotId);
  return testSpecs(db, chatbotId).map((spec) => withResult(spec, last));
}

export function getTest(db: Database, chatbotId: string, testId: string): AnswerTest {
  getChatbot(db, chatbotId);
  const row = db
    .query<Row, [string, string]>('SELECT * FROM answer_tests WHERE id = ? AND chatbot_id = ?')
    .get(testId, chatbotId);
  if (!row) throw notFound('Test');
  return withResult(toSpec(row), lastResults(db, chatbotId, testId));
}

/** Removes a test; its results in earlier runs go with it. */
export function deleteTest(db: Database, chatbotId: string, testId: string): void {
  getChatbot(db, chatbotId);
  const { changes } = db
    .query('DELETE FROM answer_tests WHERE id = ? AND chatbot_id = ?')
    .run(testId, chatbotId);
  if (changes === 0) throw notFound('Test');
}

/** The part of a bot message's provenance that says which sources it cited. */
const Cited = v.pick(Provenance, ['retrieval', 'citedChunkIds']);

/** The question and expectation a real turn gives: the visitor message and what the bot did. */
type Learned = { question: string; expect: Expect; mustCite: string[] };

/**
 * Learns a test from a visitor message of this chatbot: its text is the question; the bot's next
 * message in that conversation says what happened. Answered → `answer`, citing the sources it
 * cited that still exist; handed off → `handoff`. 404 for an unknown message or one of another
 * chatbot; 422 for a message that is not the visitor's, has no bot answer yet, or whose turn
 * failed (an error or the quota: nothing to learn).
 */
function learnFromMessage(db: Database, chatbotId: string, messageId: string): Learned {
  const message = findMessage(db, messageId);
  if (!message || message.chatbotId !== chatbotId) throw notFound('Message');
  if (message.role !== 'visitor') {
    throw invalid('fromMessageId: must be a visitor message (the question)');
  }
  const reply = botReplyTo(db, messageId);
  if (!reply) throw invalid('fromMessageId: the bot has not answered this message');
  if (reply.handoffReason === 'error' || reply.handoffReason === 'quota') {
    throw invalid(
      `fromMessageId: the bot could not answer this message (${reply.handoffReason}); write the test by hand`,
    );
  }
  const question = capMessage(message.content.trim());
  if (!question) throw invalid('fromMessageId: the message has no text');
  if (reply.handoffReason) return { question, expect: 'handoff', mustCite: [] };
  // Stored provenance is read back through its schema; an older shape cites nothing.
  const parsed = v.safeParse(Cited, reply.provenance);
  const { retrieval, citedChunkIds } = parsed.success
    ? parsed.output
    : { retrieval: [], citedChunkIds: [] };
  const sourceOf = new Map(retrieval.map((r) => [r.chunkId, r.sourceId]));
  const existing = new Set(listSources(db, chatbotId).map((src) => src.id));
  const mustCite = [...new Set(citedChunkIds.map((c) => sourceOf.get(c)))].filter(
    (id): id is string => id !== undefined && existing.has(id),
  );
  return { question, expect: 'answer', mustCite };
}

/** Adds a test (201). Bounds and contradictions are 422; an unknown chatbot or message 404. */
export function createTest(
  s: { db: Database; clock: Clock },
  chatbotId: string,
  body: CreateTestBody,
): AnswerTest {
  const { db } = s;
  getChatbot(db, chatbotId);
  if (body.question !== undefined && body.fromMessageId !== undefined) {
    throw invalid('give either question or fromMessageId, not both');
  }
  if (body.question === undefined && body.fromMessageId === undefined) {
    throw invalid('question (with expect) or fromMessageId is required');
  }
  if (countTests(db, chatbotId) >= TESTS_PER_CHATBOT_MAX) {
    throw new AppError(
      'VALIDATION_FAILED',
      `A chatbot has at most ${TESTS_PER_CHATBOT_MAX} answer tests; delete one first`,
    );
  }
  let learned: Learned | null = null;
  if (body.fromMessageId !== undefined) {
    learned = learnFromMessage(db, chatbotId, body.fromMessageId);
  } else if (body.expect === undefined) {
    throw invalid('expect: required with question ("answer" or "handoff")');
  }
  const expect = body.expect ?? learned?.expect ?? 'answer';
  const mustCite = [...new Set(body.mustCite ?? (expect === 'answer' ? learned?.mustCite : []))];
  if (expect === 'handoff' && mustCite.length > 0) {
    throw invalid('mustCite: a handoff cites nothing; leave mustCite out when expect is handoff');
  }
  const existing = new Set(listSources(db, chatbotId).map((src) => src.id));
  const unknown = mustCite.findIndex((id) => !existing.has(id));
  if (unknown >= 0) throw invalid(`mustCite.${unknown}: not a source of this chatbot`);
  const id = newId();
  db.query(
    `INSERT INTO answer_tests (id, chatbot_id, question, expect, must_cite, must_contain,
       must_not_contain, language, from_message_id, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    id,
    chatbotId,
    body.question ?? learned?.question ?? '',
    expect,
    JSON.stringify(mustCite),
    JSON.stringify([...new Set(body.mustContain ?? [])]),
    JSON.stringify([...new Set(body.mustNotContain ?? [])]),
    body.language ?? null,
    body.fromMessageId ?? null,
    new Date(s.clock.now()).toISOString(),
  );
  return getTest(db, chatbotId, id);
}
