// The checks of an answer test and `changed`, as pure functions.
import { describe, expect, it } from 'bun:test';
import { failedChecks, hasChanged } from '../../src/answer-tests/checks.ts';

const test = {
  expect: 'answer' as const,
  mustCite: [] as string[],
  mustContain: [] as string[],
  mustNotContain: [] as string[],
  language: null as string | null,
};
const answered = { reply: 'Refunds take 5 days.', handoff: false, handoffReason: null, cited: [] };

describe('answer-test checks', () => {
  it('should match texts case-insensitively and otherwise as written', () => {
    expect(failedChecks({ ...test, mustContain: ['REFUNDS TAKE'] }, answered)).toEqual([]);
    expect(failedChecks({ ...test, mustContain: ['refunds  take'] }, answered)).toEqual([
      'the reply does not contain "refunds  take"',
    ]);
    expect(failedChecks({ ...test, mustNotContain: ['5 DAYS'] }, answered)).toEqual([
      'the reply contains "5 DAYS"',
    ]);
  });

  it('should list every failed check in order: expectation, citations, texts, language', () => {
    const reasons = failedChecks(
      {
        expect: 'answer',
        mustCite: ['src_a', 'src_b'],
        mustContain: ['week'],
        mustNotContain: ['team'],
        language: 'de',
      },
      {
        reply: 'Let me bring in a member of our team.',
        handoff: true,
        handoffReason: 'asked_for_human',
        cited: ['src_b'],
      },
    );
    // The language is not checked on a handoff (its text is the chatbot's own).
    expect(reasons).toEqual([
      'expected an answer, but the bot handed off (the question asks for a person)',
      'did not cite source src_a',
      'the reply does not contain "week"',
      'the reply contains "team"',
    ]);
  });

  it('should pass a reply whose language cannot be told, and fail one clearly in another', () => {
    expect(failedChecks({ ...test, language: 'de' }, { ...answered, reply: 'OK.' })).toEqual([]);
    expect(
      failedChecks(
        { ...test, language: 'fr' },
        { ...answered, reply: 'Le remboursement est fait pour vous.' },
      ),
    ).toEqual([]);
    expect(
      failedChecks(
        { ...test, language: 'de-AT' },
        { ...answered, reply: 'The refund is on the way.' },
      ),
    ).toEqual(['the reply is in en, expected de-AT']);
  });

  it('should call a result changed on another status, citation set or reply, and not without a previous one', () => {
    const now = { status: 'pass' as const, reply: 'Refunds take  5 days.', cited: ['a', 'b'] };
    expect(hasChanged(now, null)).toBe(false);
    expect(hasChanged(now, { ...now, reply: 'refunds take 5 DAYS.', cited: ['b', 'a'] })).toBe(
      false,
    );
    expect(hasChanged(now, { ...now, status: 'fail' })).toBe(true);
    expect(hasChanged(now, { ...now, cited: ['a'] })).toBe(true);
    expect(hasChanged(now, { ...now, cited: ['a', 'c'] })).toBe(true);
    expect(hasChanged(now, { ...now, reply: 'Refunds take 6 days.' })).toBe(true);
  });
});
