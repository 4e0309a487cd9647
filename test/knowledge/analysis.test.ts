import { describe, expect, it } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import {
  ANALYSES,
  analysisByKey,
  analysisFor,
  LANCE_LANGUAGES,
  prepare,
  segment,
} from '../../src/knowledge/analysis.ts';

describe('analysisFor', () => {
  it('should only ever give LanceDB a language name of its closed list (another name aborts the process)', () => {
    const known = new Set<string>(Object.values(LANCE_LANGUAGES));
    const codes = ['en', 'fr-CA', 'DE', 'zh', 'ko', 'pt-BR', 'nb', 'pl', 'xx', 'klingon', '', null];
    // Seeded hostile codes: anything a stored setting could hold.
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let i = 0; i < 500; i++) {
      const len = rand() % 12;
      codes.push(String.fromCharCode(...Array.from({ length: len }, () => 32 + (rand() % 400))));
    }
    for (const code of [...codes, 'constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const a = analysisFor(code);
      expect(known.has(a.fts.language)).toBe(true);
      expect(Object.values(ANALYSES)).toContain(a);
    }
    expect(analysisByKey('__proto__')).toBeNull();
    expect(analysisByKey('klingon')).toBeNull();
  });

  it('should stem in the knowledge language and fall back to a language-neutral analysis', () => {
    expect(analysisFor('es').fts).toMatchObject({ language: 'Spanish', stem: true });
    expect(analysisFor('pt-BR').fts).toMatchObject({ language: 'Portuguese', stem: true });
    expect(analysisFor('nn').fts).toMatchObject({ language: 'Norwegian' });
    // French stemming measured worse than French stop words alone (docs/notes/knowledge.md).
    expect(analysisFor('fr').fts).toMatchObject({ language: 'French', stem: false });
    expect(analysisFor('en').fts.customStopWords).toContain('the');
    expect(analysisFor('en').fts.customStopWords).not.toContain('how');
    for (const code of ['xx', 'vi', null]) {
      expect(analysisFor(code)).toMatchObject({ key: 'neutral', spell: true });
      expect(analysisFor(code).fts).toMatchObject({ baseTokenizer: 'icu', stem: false });
    }
  });

  it('should segment Chinese, Japanese and Korean and turn typo correction off for them and Thai', () => {
    for (const code of ['zh', 'zh-TW', 'ja', 'ko', 'th'])
      expect(analysisFor(code).spell).toBe(false);
    for (const code of ['zh', 'ja', 'ko']) expect(analysisFor(code).key).toBe('cjk');
  });
});

describe('segment', () => {
  it('should add the characters and overlapping bigrams of Han, Kana and Hangul runs, other text unchanged', () => {
    const words = (s: string) => s.split(/\s+/).filter(Boolean);
    expect(words(segment('北京 iPhone 手机', 'cjk-hangul-unibigram'))).toEqual([
      '北',
      '京',
      '北京',
      'iPhone',
      '手',
      '机',
      '手机',
    ]);
    expect(words(segment('비밀번호', 'hangul-bigram'))).toEqual(['비밀', '밀번', '번호']);
    expect(segment('北京', 'hangul-bigram')).toBe('北京');
    expect(segment('a 我 b', 'cjk-hangul-unibigram')).toBe('a  我  b');
    expect(prepare('Hello, world', ANALYSES.cjk)).toBe('Hello, world');
  });
});

describe('analyses in LanceDB', () => {
  it('should build the full-text index of every analyzer and find a passage through it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'answerdesk-analysis-'));
    try {
      const conn = await lancedb.connect(dir);
      const texts = ['北京是中国的首都', 'Les chevaux sauvages', 'ภาษาไทย', 'Wilde Pferde'];
      const table = await conn.createTable(
        't',
        texts.map((text, i) => ({ id: String(i), text })),
      );
      const analyses = Object.values(ANALYSES).filter((a) => a.key !== 'legacy');
      await table.addColumns(analyses.map((a) => ({ name: a.column, valueSql: `text` })));
      for (const a of analyses) {
        await table.createIndex(a.column, { config: lancedb.Index.fts(a.fts) });
      }
      const hits = await table
        .query()
        .fullTextSearch(new lancedb.MatchQuery('chevaux', ANALYSES.fr.column))
        .select(['id'])
        .toArray();
      expect(hits.map((h) => h.id)).toEqual(['1']);
      conn.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('answerdesk eval --language', () => {
  it('should evaluate with the knowledge language given (default en)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'answerdesk-evalset-'));
    try {
      const docs = [
        { id: 'd1', title: '首都', text: '北京是中华人民共和国的首都。' },
        { id: 'd2', title: '长江', text: '长江是亚洲最长的河流。' },
      ];
      writeFileSync(join(dir, 'corpus.jsonl'), docs.map((d) => JSON.stringify(d)).join('\n'));
      writeFileSync(join(dir, 'queries.jsonl'), JSON.stringify({ id: 'q1', text: '中国的首都' }));
      writeFileSync(join(dir, 'qrels.tsv'), 'query-id\tcorpus-id\tscore\nq1\td1\t1\n');
      const { runEval } = await import('../../src/knowledge/eval.ts');
      const { buildDeps } = await import('../../src/deps.ts');
      const { addTextSources } = await import('../../src/sources/bulk.ts');
      const run = async (args: string[]) => {
        const logs: string[] = [];
        const original = console.log;
        console.log = (...a: unknown[]) => logs.push(a.join(' '));
        try {
          expect(await runEval([dir, ...args], buildDeps, addTextSources)).toBe(0);
        } finally {
          console.log = original;
        }
        return logs.join('\n');
      };
      const zh = await run(['--language', 'zh']);
      expect(zh).toContain('language    zh (cjk analysis)');
      expect(zh).toContain('nDCG@10     1.0000');
      const en = await run([]);
      expect(en).toContain('language    en (en analysis)');
      expect(en).toContain('nDCG@10     0.0000');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
