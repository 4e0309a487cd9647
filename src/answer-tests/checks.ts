// The checks of an answer test (pure): what the bot did against what the test expects, each failed
// check as one reason in plain words, and whether a result changed since the previous one.
import { detectLanguage, sameLanguage } from '../answers/language.ts';
import type { HandoffReason } from '../conversations/model.ts';
import type { AnswerTest, ResultStatus } from './model.ts';

/** What the pipeline did with a test's question. */
export type Observed = {
  reply: string;
  handoff: boolean;
  handoffReason: HandoffReason | null;
  /** Ids of the sources the answer cited. */
  cited: readonly string[];
};

const HANDOFF_WORDS: Record<HandoffReason, string> = {
  no_answer: 'no answer in the knowledge',
  asked_for_human: 'the question asks for a person',
  frustration: 'the visitor sounded frustrated',
  error: 'an error; see the service log',
  quota: 'the message quota is used up',
};

/**
 * Every failed check of `test` against `observed`, in this order: the expectation (answer or
 * handoff), each source of `mustCite` not cited, each text of `mustContain` missing from the reply
 * and each of `mustNotContain` present (both case-insensitive: lower-cased, otherwise as written),
 * then the reply's language. The language is checked on answers only (a handoff text is the
 * chatbot's configured one), with the visitor-language guess of the answer pipeline: a reply whose
 * language it cannot tell passes.
 */
export function failedChecks(
  test: Pick<AnswerTest, 'expect' | 'mustCite' | 'mustContain' | 'mustNotContain' | 'language'>,
  observed: Observed,
): string[] {
  const reasons: string[] = [];
  if (test.expect === 'answer' && observed.handoff) {
    const why = observed.handoffReason ? HANDOFF_WORDS[observed.handoffReason] : 'no reason given';
    reasons.push(`expected an answer, but the bot handed off (${why})`);
  }
  if (test.expect === 'handoff' && !observed.handoff) {
    reasons.push('expected a handoff, but the bot answered');
  }
  const cited = new Set(observed.cited);
  for (const sourceId of test.mustCite) {
    if (!cited.has(sourceId)) reasons.push(`did not cite source ${sourceId}`);
  }
  const reply = observed.reply.toLowerCase();
  for (const text of test.mustContain) {
    if (!reply.includes(text.toLowerCase())) reasons.push(`the reply does not contain "${text}"`);
  }
  for (const text of test.mustNotContain) {
    if (reply.includes(text.toLowerCase())) reasons.push(`the reply contains "${text}"`);
  }
  if (test.language && !observed.handoff) {
    const found = detectLanguage(observed.reply);
    if (found && !sameLanguage(found, test.language)) {
      reasons.push(`the reply is in ${found}, expected ${test.language}`);
    }
  }
  return reasons;
}

/** What `changed` compares between two results of one test. */
export type Comparable = { status: ResultStatus; reply: string; cited: readonly string[] };

const normalised = (text: string) => text.toLowerCase().replace(/\s+/g, ' ').trim();

/**
 * True when `now` differs from `before`: another status, another set of cited sources (order
 * aside), or another reply once lower-cased with runs of whitespace made one space. False when
 * there is nothing to compare with.
 */
export function hasChanged(now: Comparable, before: Comparable | null): boolean {
  if (!before) return false;
  if (now.status !== before.status) return true;
  const a = new Set(now.cited);
  const b = new Set(before.cited);
  if (a.size !== b.size || [...a].some((id) => !b.has(id))) return true;
  return normalised(now.reply) !== normalised(before.reply);
}
