import { describe, expect, it } from 'bun:test';
import {
  buildVocabulary,
  closestWord,
  correctQuery,
  vocabularyWords,
  withinOneEdit,
} from '../../src/knowledge/spell.ts';

describe('vocabularyWords', () => {
  it('should split like the full-text analyzer: lowercase, ASCII folding, letters and digits', () => {
    expect(vocabularyWords('Café-Crème, GitHub v2.1!')).toEqual([
      'cafe',
      'creme',
      'github',
      'v2',
      '1',
    ]);
  });
});

describe('withinOneEdit', () => {
  it('should accept one insertion, deletion, substitution or neighbour swap', () => {
    expect(withinOneEdit('github', 'github')).toBe(true);
    expect(withinOneEdit('githb', 'github')).toBe(true);
    expect(withinOneEdit('githuub', 'github')).toBe(true);
    expect(withinOneEdit('githun', 'github')).toBe(true);
    expect(withinOneEdit('gihtub', 'github')).toBe(true);
  });

  it('should refuse two edits', () => {
    expect(withinOneEdit('gthb', 'github')).toBe(false);
    expect(withinOneEdit('gihtbu', 'github')).toBe(false);
    expect(withinOneEdit('password', 'passwrod1')).toBe(false);
  });
});

describe('closestWord', () => {
  const vocab = buildVocabulary([
    'reset your password',
    'password rules',
    'passwords expire',
    'github markdown',
    'invoice invoices',
    'voice',
  ]);

  it('should pick the most frequent indexed word one edit away', () => {
    expect(closestWord('passwrd', vocab)).toBe('password');
    expect(closestWord('passwodr', vocab)).toBe('password');
    expect(closestWord('markdwn', vocab)).toBe('markdown');
  });

  it('should leave indexed, short, numeric and unmatched words alone', () => {
    expect(closestWord('password', vocab)).toBeNull();
    expect(closestWord('rset', vocab)).toBeNull();
    expect(closestWord('githu8', vocab)).toBeNull();
    expect(closestWord('refund', vocab)).toBeNull();
  });

  it('should keep the first letter (a typo rarely changes it, and it bounds the search)', () => {
    expect(closestWord('nvoice', vocab)).toBeNull();
  });
});

describe('correctQuery', () => {
  const vocab = buildVocabulary(['How to make text strikethrough on GitHub markdown']);

  it('should append the correction after each unknown word and keep the rest as typed', () => {
    expect(correctQuery('Strikethrogh on githun?', vocab)).toBe(
      'Strikethrogh strikethrough on githun github?',
    );
  });

  it('should return the query itself when nothing needs correcting', () => {
    const q = 'make text "strikethrough" AND (github OR';
    expect(correctQuery(q, vocab)).toBe(q);
    expect(correctQuery('', vocab)).toBe('');
    expect(correctQuery('?!', vocab)).toBe('?!');
  });

  it('should work with an empty vocabulary', () => {
    expect(correctQuery('anything goes', buildVocabulary([]))).toBe('anything goes');
  });
});

describe('typo correction by script', () => {
  it('should never correct a word of a script written without spaces (a whole clause)', () => {
    const vocab = buildVocabulary(['我爱北京天安门', 'ภาษาไทยง่ายมาก', '비밀번호를잊었어요']);
    expect(closestWord('我爱北京天安们', vocab)).toBeNull();
    expect(closestWord('ภาษาไทยง่ายมาห', vocab)).toBeNull();
    expect(closestWord('비밀번호를잊었어', vocab)).toBeNull();
    expect(correctQuery('我爱北京天安们', vocab)).toBe('我爱北京天安们');
  });

  it('should still correct Latin, Greek and Cyrillic words', () => {
    const vocab = buildVocabulary(['les chevaux sauvages', 'пароль забыт', 'κωδικός πρόσβασης']);
    expect(closestWord('chevaus', vocab)).toBe('chevaux');
    expect(closestWord('паролб', vocab)).toBe('пароль');
    expect(closestWord('κωδικοσ', vocab)).toBe('κωδικος');
  });
});
