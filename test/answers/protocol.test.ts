import { describe, expect, it } from 'bun:test';
import { createReplyFilter, type Decision, parseHeader } from '../../src/answers/protocol.ts';

/** Runs `raw` through the filter split at the given cut points; returns what the visitor saw. */
function run(raw: string, cuts: number[]) {
  const pieces: string[] = [];
  let last = 0;
  for (const cut of [...cuts, raw.length]) {
    pieces.push(raw.slice(last, cut));
    last = cut;
  }
  const out: string[] = [];
  const filter = createReplyFilter({ onText: (t) => out.push(t) });
  for (const p of pieces) filter.push(p);
  filter.end();
  return {
    text: out.join(''),
    emitted: filter.text,
    decision: filter.decision,
    cited: filter.cited,
  };
}

/** Every split into single characters, every split in two, and a few random splits. */
function splits(raw: string): number[][] {
  const all: number[][] = [[], [...Array(raw.length).keys()].slice(1)];
  for (let i = 1; i < raw.length; i++) all.push([i]);
  let seed = 7;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let n = 0; n < 50; n++) {
    const cuts = new Set<number>();
    for (let k = 0; k < 6; k++) cuts.add(1 + Math.floor(rand() * (raw.length - 1)));
    all.push([...cuts].sort((a, b) => a - b));
  }
  return all;
}

const LEAKS = /\[\[|\]\]|handoff|\[\d/;

describe('reply protocol filter', () => {
  it('should never leak the control line or citations, however the tokens are split', () => {
    const raw = '[[answer]]\nRefunds take 5 days [1]. Shipping is free over $50 [2, 3].';
    for (const cuts of splits(raw)) {
      const r = run(raw, cuts);
      expect(r.text).toBe('Refunds take 5 days. Shipping is free over $50.');
      expect(r.text).toBe(r.emitted);
      expect(r.decision).toEqual({ kind: 'answer', header: 'ok' });
      expect(r.cited).toEqual([1, 2, 3]);
    }
  });

  it('should emit nothing after a handoff line, however it is split', () => {
    const raw = '  [[handoff:asked_for_human]]\nSure, a colleague will help.';
    for (const cuts of splits(raw)) {
      const r = run(raw, cuts);
      expect(r.text).toBe('');
      expect(r.decision).toEqual({ kind: 'handoff', reason: 'asked_for_human' });
    }
  });

  it('should strip stray control markers and unfinished ones at the end', () => {
    const raw = '[[answer]]\nHello! [[handoff:no_answer]] How can I help? [[hand';
    for (const cuts of splits(raw)) {
      const r = run(raw, cuts);
      expect(r.text).toBe('Hello! How can I help?');
      expect(LEAKS.test(r.text)).toBe(false);
    }
  });

  it('should keep literal brackets that are not citations', () => {
    const raw = '[[answer]]\nPress [Save] then see [the docs] and item [a].';
    for (const cuts of splits(raw)) {
      expect(run(raw, cuts).text).toBe('Press [Save] then see [the docs] and item [a].');
    }
  });

  it('should remove a citation between words with one space left', () => {
    expect(run('[[answer]]\nsee [1] below [passage 2]', [14]).text).toBe('see below');
  });

  it('should read a JSON answer object and never show its braces, however it is split', () => {
    const answer = '{"reply": "Refunds take 5 days [1].", "handoff": false}';
    for (const cuts of splits(answer)) {
      const r = run(answer, cuts);
      expect(r.text).toBe('Refunds take 5 days.');
      expect(r.decision).toEqual({ kind: 'answer', header: 'ok' });
      expect(r.cited).toEqual([1]);
    }
    const handoff = '{"reply": "I cannot help", "handoff": true, "reason": "asked_for_human"}';
    for (const cuts of splits(handoff)) {
      const r = run(handoff, cuts);
      expect(r.text).toBe('');
      expect(r.decision).toEqual({ kind: 'handoff', reason: 'asked_for_human' });
    }
    expect(run('{"handoff": true}', []).decision).toEqual({ kind: 'handoff', reason: 'no_answer' });
  });

  it('should show text that only looks like JSON as plain text', () => {
    const r = run('{not json} but an answer', [3]);
    expect(r.text).toBe('{not json} but an answer');
    expect(r.decision).toEqual({ kind: 'answer', header: 'missing' });
  });

  it('should treat output without a control line as an answer', () => {
    const r = run('Hi there [1]', [2]);
    expect(r.decision).toEqual({ kind: 'answer', header: 'missing' });
    expect(r.text).toBe('Hi there');
  });

  it('should read header variants and map odd handoff reasons to no_answer', () => {
    expect(parseHeader('[[ANSWER]]')).toEqual({ kind: 'answer', header: 'ok' });
    expect(parseHeader('[[ handoff = frustration ]]')).toEqual({
      kind: 'handoff',
      reason: 'frustration',
    });
    expect(parseHeader('[[handoff:weird]]')).toEqual({ kind: 'handoff', reason: 'no_answer' });
    expect(parseHeader('hello')).toBeNull();
  });

  it('should decide only once and report it before any text', () => {
    const events: string[] = [];
    const filter = createReplyFilter({
      onDecision: (d: Decision) => events.push(`decision:${d.kind}`),
      onText: (t) => events.push(`text:${t}`),
    });
    for (const ch of '[[answer]]\nYes.') filter.push(ch);
    filter.end();
    expect(events[0]).toBe('decision:answer');
    expect(events.filter((e) => e.startsWith('decision'))).toHaveLength(1);
  });
});
